import { PermanentError, TransientError } from '@mvp-pipeline/core';

/** What goes wrong with one method of a port. */
export type Fault =
  /** Fails `times` times with a TransientError (optionally asking for a wait), then works. */
  | { kind: 'transient'; times: number; retryAfterMs?: number }
  /** Always fails with a PermanentError. */
  | { kind: 'permanent'; message?: string }
  /** Never answers (until the caller gives up through its abort signal). */
  | { kind: 'hang' }
  /**
   * The process dies: `after` (default) lets the real call happen first, as when a runner dies
   * right after a side effect and before recording it. From then on every port guarded by the
   * same switch hangs forever, like calls from a dead process. `onCall` picks the nth call (default 1).
   */
  | { kind: 'crash'; crash: CrashSwitch; when?: 'before' | 'after'; onCall?: number };

const never = () => new Promise<never>(() => undefined);

/** Kills a simulated runner: once tripped, every port it guards stops answering. */
export interface CrashSwitch {
  readonly crashed: boolean;
  crash(): void;
  /** The port, answering normally until the switch trips and never after. */
  guard<T extends object>(port: T): T;
}

export function createCrashSwitch(): CrashSwitch {
  let crashed = false;
  return {
    get crashed() {
      return crashed;
    },
    crash: () => {
      crashed = true;
    },
    guard: (port) =>
      new Proxy(port, {
        get(target, key, receiver) {
          const value = Reflect.get(target, key, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => (crashed ? never() : value.apply(target, args));
        },
      }),
  };
}

/** Wraps a port so that the named methods misbehave as scripted; the rest pass through. */
export function withFaults<T extends object>(port: T, faults: Partial<Record<keyof T, Fault>>): T {
  const failures = new Map<PropertyKey, number>();
  return new Proxy(port, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      const fault = faults[key as keyof T];
      if (typeof value !== 'function' || !fault) return value;
      return async (...args: unknown[]) => {
        const call = () => value.apply(target, args) as Promise<unknown>;
        const name = `${String(key)}`;
        switch (fault.kind) {
          case 'transient': {
            const failed = failures.get(key) ?? 0;
            if (failed >= fault.times) return call();
            failures.set(key, failed + 1);
            throw new TransientError(`${name} failed transiently (${failed + 1} of ${fault.times})`, {
              retryAfterMs: fault.retryAfterMs,
            });
          }
          case 'permanent':
            throw new PermanentError(fault.message ?? `${name} failed permanently`);
          case 'hang':
            return never();
          case 'crash': {
            const calls = (failures.get(key) ?? 0) + 1;
            failures.set(key, calls);
            if (calls < (fault.onCall ?? 1)) return call();
            if (fault.when === 'before') {
              fault.crash.crash();
              return never();
            }
            await call();
            fault.crash.crash();
            return never();
          }
        }
      };
    },
  });
}
