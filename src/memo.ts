// A memo for hot paths: values computed once per key, all forgotten at once when `max` keys are
// held (the keys in use — subscription URLs, signing secrets — come back on their next use).

export function boundedMemo<V>(max: number, compute: (key: string) => V): (key: string) => V {
  const values = new Map<string, V>();
  return (key) => {
    let v = values.get(key);
    if (v === undefined) {
      if (values.size >= max) values.clear();
      v = compute(key);
      values.set(key, v);
    }
    return v;
  };
}
