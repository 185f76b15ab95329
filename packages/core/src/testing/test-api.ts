/**
 * The test functions a contract suite registers its tests with. Vitest's (and Jest's) fit:
 * `jobStoreContract({ describe, it, expect, beforeEach, afterEach }, …)`. Taking them as an
 * argument keeps the core free of a test-runner dependency.
 */
export interface TestApi {
  describe(name: string, body: () => void): void;
  it(name: string, body: () => Promise<void> | void, timeout?: number): void;
  // biome-ignore lint/suspicious/noExplicitAny: the runner's own expect, whatever its typing
  expect: ((actual: unknown, message?: string) => any) & { arrayContaining(items: unknown[]): any };
  beforeEach(body: () => Promise<void> | void): void;
  afterEach(body: () => Promise<void> | void): void;
}

/** What each contract suite gets per test: the subject, helpers, and how to clean up. */
export interface Harness {
  /** Called after each test; stop servers, remove folders. */
  dispose?(): Promise<void> | void;
}

/** Registers `body` with a fresh harness per test, disposed after it. */
export function withHarness<H extends Harness>(
  t: TestApi,
  create: () => Promise<H> | H,
  register: (use: () => H) => void,
): void {
  let current: H | undefined;
  t.beforeEach(async () => {
    current = await create();
  });
  t.afterEach(async () => {
    await current?.dispose?.();
    current = undefined;
  });
  register(() => {
    if (!current) throw new Error('The harness is used outside a test');
    return current;
  });
}

/** The error code a promise rejects with (undefined if it resolves). */
export async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code ?? `not a PipelineError: ${String(error)}`;
  }
}

/** One test a contract suite registered, runnable on its own (with its hooks). */
export interface ContractCase {
  name: string;
  run(): Promise<void>;
}

/**
 * The cases a suite registers, collected instead of handed to a runner: a meta-test runs them
 * against an adapter that is broken on purpose and asserts the right cases fail, with a message
 * that says what to fix. `expect` is the runner's own.
 */
export function contractCases(expect: TestApi['expect'], register: (t: TestApi) => void): ContractCase[] {
  interface Scope {
    prefix: string;
    before: Array<() => Promise<void> | void>;
    after: Array<() => Promise<void> | void>;
    parent: Scope | undefined;
  }
  const cases: ContractCase[] = [];
  let scope: Scope = { prefix: '', before: [], after: [], parent: undefined };
  const chain = (s: Scope | undefined): Scope[] => (s ? [...chain(s.parent), s] : []);
  register({
    expect,
    describe(name, body) {
      scope = { prefix: `${scope.prefix}${name} > `, before: [], after: [], parent: scope };
      try {
        body();
      } finally {
        scope = scope.parent!;
      }
    },
    it(name, body) {
      const scopes = chain(scope);
      cases.push({
        name: `${scope.prefix}${name}`,
        async run() {
          for (const s of scopes) for (const hook of s.before) await hook();
          try {
            await body();
          } finally {
            for (const s of [...scopes].reverse()) for (const hook of s.after) await hook();
          }
        },
      });
    },
    beforeEach: (body) => void scope.before.push(body),
    afterEach: (body) => void scope.after.push(body),
  });
  return cases;
}
