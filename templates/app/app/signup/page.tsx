import { Flash, PostForm, type SearchParams } from '@/lib/ui';

export const metadata = { title: 'Sign up' };

export default async function SignUpPage({ searchParams }: { searchParams: SearchParams }) {
  const q = await searchParams;
  return (
    <section className="auth-card" aria-labelledby="signup-title">
      <h1 id="signup-title">Create your account</h1>
      <Flash error={q.error} />
      <PostForm action="/api/auth/signup" back="/signup" label="Sign up">
        <input type="hidden" name="_next" value="/" />
        <label className="field">
          <span>Email</span>
          <input name="email" type="email" autoComplete="email" required maxLength={254} />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            maxLength={200}
          />
          <small className="muted">At least 8 characters.</small>
        </label>
        <button className="button" type="submit">
          Sign up
        </button>
      </PostForm>
      <p className="muted">
        Already have an account? <a href="/signin">Sign in</a>
      </p>
    </section>
  );
}
