import type { NextConfig } from 'next';

const config: NextConfig = {
  // unauthorized() and forbidden() answer 401 and 403 from pages, never the data.
  experimental: { authInterrupts: true },
  poweredByHeader: false,
  // Nothing is fetched from outside: no remote images, no Google fonts.
  images: { unoptimized: true },
  outputFileTracingRoot: process.cwd(),
  turbopack: { root: process.cwd() },
};

export default config;
