/**
 * Folds wrappers around a base function: `composeWrappers([a, b], base)` is `a(b(base))`, so the
 * first wrapper in the list is the outermost — go-micro's order (it applies its lists in reverse).
 * Every wrapper list in tsmicro is folded here and nowhere else.
 */
export function composeWrappers<F>(wrappers: readonly ((next: F) => F)[] | undefined, base: F): F {
  if (!wrappers || wrappers.length === 0) return base;
  let fn = base;
  for (let i = wrappers.length - 1; i >= 0; i--) fn = wrappers[i](fn);
  return fn;
}
