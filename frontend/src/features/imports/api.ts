import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { apiFetch, queryString, type Page } from "@/lib/api";
import { uploadFile, type UploadProgress } from "@/lib/upload";
import { isFinished, sitePath, type Job, type JobKind } from "./types";

export const jobKey = (id: string | null) => ["job", id] as const;
export const jobsKey = (kind: JobKind) => ["jobs", kind] as const;

const POLL_MS = 1000;

/** The newest jobs of one kind; polled every few seconds while one of them runs. */
export function useJobs(kind: JobKind, pageSize = 10) {
  return useQuery({
    queryKey: jobsKey(kind),
    queryFn: ({ signal }) =>
      apiFetch<Page<Job>>(`/api/jobs/${queryString({ kind, page_size: pageSize })}`, { signal }),
    placeholderData: keepPreviousData,
    refetchInterval: (query) =>
      query.state.data?.results.some((job) => !isFinished(job)) ? 3000 : false,
  });
}

/**
 * One job, kept up to date while it runs: from its Server-Sent Events stream (`events_url`), or,
 * where the stream is missing or drops, by asking for its status every second.
 */
export function useJob(jobId: string | null) {
  const queryClient = useQueryClient();
  const [streamFailedFor, setStreamFailedFor] = useState<string | null>(null);
  const query = useQuery({
    queryKey: jobKey(jobId),
    queryFn: ({ signal }) => apiFetch<Job>(`/api/job/${jobId}/status/`, { signal }),
    enabled: jobId !== null,
    refetchInterval: (q) => {
      const job = q.state.data;
      if (!job || isFinished(job)) return false;
      return canStream(job) && streamFailedFor !== job.id ? false : POLL_MS;
    },
  });

  const job = query.data;
  const eventsUrl = job && canStream(job) ? sitePath(job.events_url as string) : null;
  const running = job ? !isFinished(job) : false;
  const streaming = jobId !== null && eventsUrl !== null && running && streamFailedFor !== jobId;

  useEffect(() => {
    if (!streaming || !eventsUrl || jobId === null) return;
    const source = new EventSource(eventsUrl);
    source.onmessage = (event: MessageEvent<string>) => {
      let update: Job;
      try {
        update = JSON.parse(event.data) as Job;
      } catch {
        return;
      }
      queryClient.setQueryData(jobKey(jobId), update);
      if (isFinished(update)) {
        source.close();
        void queryClient.invalidateQueries({ queryKey: ["jobs"] });
      }
    };
    source.onerror = () => {
      source.close();
      setStreamFailedFor(jobId);
    };
    return () => source.close();
  }, [streaming, eventsUrl, jobId, queryClient]);

  return { ...query, streaming };
}

function canStream(job: Job): boolean {
  return Boolean(job.events_url) && typeof EventSource !== "undefined";
}

export function useRetryJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (job: Job) => apiFetch<Job>(`/api/jobs/${job.id}/retry/`, { method: "POST" }),
    onSuccess: (job) => {
      queryClient.setQueryData(jobKey(job.id), job);
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
}

export type UploadState =
  | { phase: "idle" }
  | { phase: "uploading"; fileName: string; progress: UploadProgress }
  | { phase: "failed"; fileName: string; error: unknown };

/** Sends a catalog to `/api/products/upload/`, reporting the bytes sent; resolves with the job. */
export function useUpload() {
  const queryClient = useQueryClient();
  const [state, setState] = useState<UploadState>({ phase: "idle" });
  const abortRef = useRef<(() => void) | null>(null);

  useEffect(() => () => abortRef.current?.(), []);

  const start = useCallback(
    async (file: File): Promise<Job | null> => {
      setState({
        phase: "uploading",
        fileName: file.name,
        progress: { loaded: 0, total: file.size },
      });
      const handle = uploadFile<Job>("/api/products/upload/", file, (progress) =>
        setState({ phase: "uploading", fileName: file.name, progress }),
      );
      abortRef.current = handle.abort;
      try {
        const job = await handle.promise;
        queryClient.setQueryData(jobKey(job.id), job);
        void queryClient.invalidateQueries({ queryKey: ["jobs"] });
        setState({ phase: "idle" });
        return job;
      } catch (error) {
        setState({ phase: "failed", fileName: file.name, error });
        return null;
      } finally {
        abortRef.current = null;
      }
    },
    [queryClient],
  );

  const cancel = useCallback(() => abortRef.current?.(), []);
  const reset = useCallback(() => setState({ phase: "idle" }), []);
  return { state, start, cancel, reset };
}

/**
 * The job this page follows, remembered for the browser tab (sessionStorage) so that leaving the
 * page and coming back shows it again.
 */
export function useRememberedJob(storageKey: string) {
  const [jobId, setJobIdState] = useState<string | null>(() => readStorage(storageKey));
  const setJobId = useCallback(
    (id: string | null) => {
      setJobIdState(id);
      try {
        if (id) window.sessionStorage.setItem(storageKey, id);
        else window.sessionStorage.removeItem(storageKey);
      } catch {
        // Storage can be off (private windows); the page still works, it just forgets.
      }
    },
    [storageKey],
  );
  return [jobId, setJobId] as const;
}

function readStorage(key: string): string | null {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}
