import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";

export interface Notice {
  id: number;
  kind: "success" | "error" | "info";
  text: string;
}

type Notify = (kind: Notice["kind"], text: string) => void;

const NoticesContext = createContext<Notify>(() => undefined);

const LIFETIME_MS = 8000;

/** Short messages at the corner of the screen, read out by screen readers, gone after a while. */
export function NoticesProvider({ children }: { children: ReactNode }) {
  const [notices, setNotices] = useState<Notice[]>([]);
  const dismiss = useCallback((id: number) => {
    setNotices((current) => current.filter((notice) => notice.id !== id));
  }, []);
  const notify = useCallback<Notify>(
    (kind, text) => {
      const id = Date.now() + Math.random();
      setNotices((current) => [...current.slice(-3), { id, kind, text }]);
      window.setTimeout(() => dismiss(id), LIFETIME_MS);
    },
    [dismiss],
  );
  const value = useMemo(() => notify, [notify]);
  return (
    <NoticesContext.Provider value={value}>
      {children}
      <div className="notices" role="status" aria-live="polite">
        {notices.map((notice) => (
          <div key={notice.id} className={`notice notice--${notice.kind}`}>
            <span>{notice.text}</span>
            <button
              type="button"
              className="icon-button"
              aria-label="Dismiss"
              onClick={() => dismiss(notice.id)}
            >
              ×
            </button>
          </div>
        ))}
      </div>
    </NoticesContext.Provider>
  );
}

export function useNotify(): Notify {
  return useContext(NoticesContext);
}
