import { currentViewer } from '@/lib/auth';
import { CredentialFields, Flash, PostForm, type SearchParams } from '@/lib/ui';

export const metadata = { title: 'Claim your app', robots: { index: false } };

export default async function ClaimPage({
  params,
  searchParams,
}: {
  params: Promise<{ token: string }>;
  searchParams: SearchParams;
}) {
  const { token } = await params;
  const q = await searchParams;
  const viewer = await currentViewer();
  const back = `/claim/${encodeURIComponent(token)}`;
  return (
    <section className="auth-card" aria-labelledby="claim-title">
      <h1 id="claim-title">Claim your app</h1>
      <p className="muted">
        This one-time link makes you the owner: you manage the records, the tables and the check-in.
      </p>
      <Flash error={q.error} />
      <PostForm action="/api/auth/claim" back={back} label="Claim ownership">
        <input type="hidden" name="token" value={token} />
        {viewer ? (
          <p>
            Signed in as <strong>{viewer.email}</strong>.
          </p>
        ) : (
          <CredentialFields newPassword={true} />
        )}
        <button className="button" type="submit">
          Claim ownership
        </button>
      </PostForm>
    </section>
  );
}
