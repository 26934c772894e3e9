// How deep a parsed JSON value nests, measured without recursion, so that a hostile value
// cannot overflow the stack of the check meant to refuse it.

/** True when `value` nests objects/arrays more than `max` levels (the value itself is level 1). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}
