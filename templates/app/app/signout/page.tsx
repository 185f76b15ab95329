import { PostForm } from '@/lib/ui';

export const metadata = { title: 'Sign out' };

export default function SignOutPage() {
  return (
    <section className="auth-card" aria-labelledby="signout-title">
      <h1 id="signout-title">Sign out</h1>
      <PostForm action="/api/auth/signout" back="/signout" label="Sign out">
        <button className="button" type="submit">
          Sign out
        </button>
      </PostForm>
    </section>
  );
}
