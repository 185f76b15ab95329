#!/usr/bin/env node
// The `mvp` bin. It lives outside dist so that installing the package links it even before a
// build (pnpm warns "Failed to create bin" for a bin whose file does not exist yet).
try {
  await import('../dist/cli.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
    process.stderr.write('mvp: not built yet: run `npx tsc -b` in the repository first\n');
    process.exit(2);
  }
  throw error;
}
