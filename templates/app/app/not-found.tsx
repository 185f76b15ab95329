export default function NotFound() {
  return (
    <section className="auth-card" aria-labelledby="e-title">
      <h1 id="e-title">Not found</h1>
      <p className="muted">There is nothing here, or it is not yours to see.</p>
      <p>
        <a href="/">Back to the home page</a>
      </p>
    </section>
  );
}
