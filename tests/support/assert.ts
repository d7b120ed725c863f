/** Small assertion helpers over node:assert (no jsr:@std here). */
import nodeAssert from "node:assert";

export function assert(cond: unknown, msg?: string): asserts cond {
  nodeAssert.ok(cond, msg);
}

export function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, msg);
}

type Matcher = RegExp | (new (...a: never[]) => Error) | ((e: unknown) => boolean);

function matches(e: unknown, m?: Matcher): boolean {
  if (!m) return true;
  if (m instanceof RegExp) return m.test(String((e as Error)?.message ?? e));
  if (m.prototype instanceof Error || m === Error) return e instanceof (m as new () => Error);
  return (m as (e: unknown) => boolean)(e);
}

export function assertThrows(f: () => unknown, m?: Matcher, msg?: string): void {
  try {
    f();
  } catch (e) {
    nodeAssert.ok(matches(e, m), msg ?? `unexpected error: ${e}`);
    return;
  }
  nodeAssert.fail(msg ?? "expected an exception");
}

export async function assertRejects(f: () => Promise<unknown>, m?: Matcher): Promise<void> {
  try {
    await f();
  } catch (e) {
    nodeAssert.ok(matches(e, m), `unexpected error: ${e}`);
    return;
  }
  nodeAssert.fail("expected a rejection");
}
