/** The done gate: a deployment counts only when its URL answers with the product's page. */
export interface SiteChecker {
  readonly specificationVersion: 'v1';
  /**
   * Loads `url` and checks it answers (HTTP 200 or a readable file) with a page containing
   * `expectText`. Problems are returned, not thrown; errors are for the checker itself.
   * `headers` (e.g. a protection-bypass secret) go with every request to the URL's own origin
   * and to no other (not to a redirect elsewhere, nor a third-party script); their values are
   * secrets and never appear in problems or notes.
   */
  check(options: {
    url: string;
    expectText: string;
    headers?: Readonly<Record<string, string>>;
    signal?: AbortSignal;
  }): Promise<SiteCheckResult>;
}

export interface SiteCheckResult {
  ok: boolean;
  /** What was wrong, in words (empty when ok). */
  problems: string[];
  /** What checked it, e.g. `http` or `chromium`. */
  checker: string;
  /** Lines worth keeping in the job's log (e.g. `chromium not found: browser check skipped`). */
  notes?: string[];
}
