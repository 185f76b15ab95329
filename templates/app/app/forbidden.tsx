export default function Forbidden() {
  return (
    <section className="auth-card" aria-labelledby="e-title">
      <h1 id="e-title">Not for this account</h1>
      <p className="muted">Your account cannot open this page.</p>
      <p>
        <a href="/">Back to the home page</a>
      </p>
    </section>
  );
}
