import { CredentialFields, Flash, PostForm, type SearchParams } from '@/lib/ui';

export const metadata = { title: 'Sign up' };

export default async function SignUpPage({ searchParams }: { searchParams: SearchParams }) {
  const q = await searchParams;
  return (
    <section className="auth-card" aria-labelledby="signup-title">
      <h1 id="signup-title">Create your account</h1>
      <Flash error={q.error} />
      <PostForm action="/api/auth/signup" back="/signup" label="Sign up">
        <input type="hidden" name="_next" value="/" />
        <CredentialFields newPassword={true} />
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
