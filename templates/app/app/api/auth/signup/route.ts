import { signUp } from '@/lib/auth';
import { verifyCsrf } from '@/lib/csrf';
import { backPath, fail, json, readInput, redirectTo } from '@/lib/http';

/** Creates a member account and signs it in. JSON: `{ email, password }` → 201 `{ user }`. */
export async function POST(request: Request) {
  const input = await readInput(request);
  if ('error' in input) return json({ error: input.error }, input.status);
  if (!(await verifyCsrf(request, input.fields)))
    return fail(request, input, 403, 'The form expired. Reload the page and try again.');
  const result = await signUp(input.fields.email, input.fields.password);
  if (!result.ok)
    return fail(
      request,
      { ...input, fields: { ...input.fields, _back: '/signup' } },
      result.status,
      result.error,
    );
  if (input.isForm) return redirectTo(request, backPath(input.fields._next, '/'));
  return json({ user: result.user }, 201);
}
