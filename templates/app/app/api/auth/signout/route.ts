import { endSession } from '@/lib/auth';
import { verifyCsrf } from '@/lib/csrf';
import { fail, json, readInput, redirectTo } from '@/lib/http';

/** Ends the session (the row is deleted, the cookie cleared). */
export async function POST(request: Request) {
  const input = await readInput(request);
  if ('error' in input) return json({ error: input.error }, input.status);
  if (!(await verifyCsrf(request, input.fields)))
    return fail(request, input, 403, 'The form expired. Reload the page and try again.');
  await endSession();
  if (input.isForm) return redirectTo(request, '/signin?notice=You%20are%20signed%20out');
  return json({ ok: true });
}
