import { CredentialFields, Flash, PostForm, type SearchParams } from '@/lib/ui';

export const metadata = { title: 'Sign in' };

export default async function SignInPage({ searchParams }: { searchParams: SearchParams }) {
  const q = await searchParams;
  return (
    <section className="auth-card" aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in</h1>
      <Flash error={q.error} notice={q.notice} />
      <PostForm action="/api/auth/signin" back="/signin" label="Sign in">
        <input type="hidden" name="_next" value="/" />
        <CredentialFields newPassword={false} />
        <button className="button" type="submit">
          Sign in
        </button>
      </PostForm>
      <p className="muted">
        New here? <a href="/signup">Create an account</a>
      </p>
    </section>
  );
}
