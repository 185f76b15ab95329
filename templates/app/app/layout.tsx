import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import './app.css';
import { currentViewer } from '@/lib/auth';
import { navLinks } from '@/lib/generated/nav';
import { product, themeCss, themeMode } from '@/lib/theme';
import { PostForm } from '@/lib/ui';

export const metadata: Metadata = {
  title: { default: product.name, template: `%s · ${product.name}` },
  description: product.tagline,
};
export const viewport: Viewport = { width: 'device-width', initialScale: 1 };
export const dynamic = 'force-dynamic';

export default async function RootLayout({ children }: { children: ReactNode }) {
  const viewer = await currentViewer();
  const links = navLinks.filter(
    (l) => l.list === 'public' || (viewer !== null && (l.list !== 'admin' || viewer.role === 'admin')),
  );
  return (
    <html lang="en" data-theme={themeMode}>
      <head>
        <link rel="stylesheet" href="/style.css" />
        {/* biome-ignore lint/security/noDangerouslySetInnerHtml: validated colours and font names */}
        <style dangerouslySetInnerHTML={{ __html: themeCss }} />
      </head>
      <body className="app">
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="site-header">
          <div className="container header-inner">
            <a className="brand" href="/">
              <span className="brand-mark" aria-hidden="true">
                {[...product.name][0]?.toUpperCase() ?? '•'}
              </span>
              <span className="brand-name" dir="auto">
                {product.name}
              </span>
            </a>
            <nav aria-label="Main">
              <ul>
                {links.map((l) => (
                  <li key={l.href}>
                    <a href={l.href}>{l.label}</a>
                  </li>
                ))}
                {viewer?.role === 'admin' ? (
                  <li>
                    <a href="/admin">Admin</a>
                  </li>
                ) : null}
              </ul>
            </nav>
            <div className="account">
              {viewer ? (
                <>
                  <span className="account-email" title={viewer.email}>
                    {viewer.email}
                  </span>
                  <PostForm action="/api/auth/signout" back="/" className="inline-form" label="Sign out">
                    <button type="submit" className="button button-small button-ghost">
                      Sign out
                    </button>
                  </PostForm>
                </>
              ) : (
                <>
                  <a href="/signin">Sign in</a>
                  <a className="button button-small" href="/signup">
                    Sign up
                  </a>
                </>
              )}
            </div>
          </div>
        </header>
        <main id="main" className="app-main">
          <div className="container">{children}</div>
        </main>
        <footer className="site-footer">
          <div className="container footer-inner">
            <p dir="auto">© {product.company ?? product.name}</p>
            <p>
              <a href="/api/openapi.json">API</a>
            </p>
          </div>
        </footer>
      </body>
    </html>
  );
}
