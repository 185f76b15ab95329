import { claimOwnership, currentViewer } from '@/lib/auth';
import { verifyCsrf } from '@/lib/csrf';
import { fail, json, readInput, redirectTo } from '@/lib/http';

/** Uses the one-time owner link: `{ token }` plus `{ email, password }` when not signed in. */
export async function POST(request: Request) {
  const input = await readInput(request);
  if ('error' in input) return json({ error: input.error }, input.status);
  if (!(await verifyCsrf(request, input.fields)))
    return fail(request, input, 403, 'The form expired. Reload the page and try again.');
  const token = typeof input.fields.token === 'string' ? input.fields.token : '';
  const result = await claimOwnership(
    token,
    await currentViewer(),
    input.fields.email,
    input.fields.password,
  );
  if (!result.ok) return fail(request, input, result.status, result.error);
  if (input.isForm) return redirectTo(request, '/admin?notice=You%20are%20the%20owner%20of%20this%20app');
  return json({ ok: true });
}
