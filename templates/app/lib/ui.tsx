// Small building blocks shared by the hand-written and the generated pages.
import type { ReactNode } from 'react';
import { CSRF_FIELD, csrfToken } from './csrf';

/** A POST form carrying the CSRF token and the page to come back to. */
export async function PostForm(props: {
  action: string;
  back: string;
  children: ReactNode;
  className?: string;
  label?: string;
}) {
  const token = await csrfToken();
  return (
    <form method="post" action={props.action} className={props.className ?? 'form'} aria-label={props.label}>
      <input type="hidden" name={CSRF_FIELD} value={token} />
      <input type="hidden" name="_back" value={props.back} />
      {props.children}
    </form>
  );
}

/** The message a form post sent back (?error=… or ?notice=…), shown as text. */
export function Flash({ error, notice }: { error?: string | string[]; notice?: string | string[] }) {
  const e = Array.isArray(error) ? error[0] : error;
  const n = Array.isArray(notice) ? notice[0] : notice;
  return (
    <>
      {e ? (
        <p className="flash flash-error" role="alert">
          {e.slice(0, 300)}
        </p>
      ) : null}
      {n ? (
        <p className="flash flash-notice" role="status">
          {n.slice(0, 300)}
        </p>
      ) : null}
    </>
  );
}

export function PageHead({ title, lead, children }: { title: string; lead?: string; children?: ReactNode }) {
  return (
    <div className="page-head">
      <div>
        <h1 dir="auto">{title}</h1>
        {lead ? <p className="muted">{lead}</p> : null}
      </div>
      {children ? <div className="page-actions">{children}</div> : null}
    </div>
  );
}

export type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export function one(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The email and password inputs of the sign-up, sign-in and claim forms. */
export function CredentialFields({ newPassword }: { newPassword: boolean }) {
  return (
    <>
      <label className="field">
        <span>Email</span>
        <input name="email" type="email" autoComplete="email" required maxLength={254} />
      </label>
      <label className="field">
        <span>Password</span>
        <input
          name="password"
          type="password"
          autoComplete={newPassword ? 'new-password' : 'current-password'}
          required
          minLength={newPassword ? 8 : undefined}
          maxLength={200}
        />
        {newPassword ? <small className="muted">At least 8 characters.</small> : null}
      </label>
    </>
  );
}
