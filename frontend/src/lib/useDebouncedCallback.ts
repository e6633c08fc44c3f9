import { useCallback, useEffect, useRef } from "react";

/**
 * `call(value)` runs `callback(value)` once calls have stopped for `delay` milliseconds;
 * `flush(value)` runs it at once (Enter in a search box). Pending calls die with the component.
 */
export function useDebouncedCallback<T>(callback: (value: T) => void, delay = 300) {
  const timer = useRef<number | undefined>(undefined);
  const latest = useRef(callback);
  useEffect(() => {
    latest.current = callback;
  }, [callback]);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const call = useCallback(
    (value: T) => {
      window.clearTimeout(timer.current);
      timer.current = window.setTimeout(() => latest.current(value), delay);
    },
    [delay],
  );
  const flush = useCallback((value: T) => {
    window.clearTimeout(timer.current);
    latest.current(value);
  }, []);
  return { call, flush };
}
