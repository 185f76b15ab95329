export default function Unauthorized() {
  return (
    <section className="auth-card" aria-labelledby="e-title">
      <h1 id="e-title">Sign in to see this page</h1>
      <p className="muted">This page is for signed-in accounts.</p>
      <p>
        <a className="button" href="/signin">
          Sign in
        </a>
      </p>
    </section>
  );
}
