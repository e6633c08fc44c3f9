import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import { apiFetch, queryString, type Page } from "@/lib/api";
import { uploadFile, type UploadProgress } from "@/lib/upload";
import {
  isFinished,
  sitePath,
  type Change,
  type ImportOptions,
  type Job,
  type JobKind,
  type JobStatus,
  type Mapping,
} from "./types";

export const jobKey = (id: string | null) => ["job", id] as const;

/** Which jobs a list shows: one page of them, newest first, of a kind and a status if given. */
export interface JobsQuery {
  page: number;
  pageSize: number;
  kind?: JobKind;
  status?: JobStatus;
  createdBy?: string;
}

export const jobsKey = (query: JobsQuery) => ["jobs", query] as const;

const POLL_MS = 1000;

/** A page of jobs (`/api/jobs/`); polled every few seconds while one of them runs. */
export function useJobs(query: JobsQuery) {
  return useQuery({
    queryKey: jobsKey(query),
    queryFn: ({ signal }) =>
      apiFetch<Page<Job>>(
        `/api/jobs/${queryString({
          page: query.page === 1 ? undefined : query.page,
          page_size: query.pageSize,
          kind: query.kind,
          status: query.status,
          created_by: query.createdBy,
        })}`,
        { signal },
      ),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.results.some((job) => !isFinished(job)) ? 3000 : false),
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

/** Queues a failed import again, with another mapping when one is given. */
export function useRetryJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ job, mapping }: { job: Job; mapping?: Mapping }) =>
      apiFetch<Job>(`/api/jobs/${job.id}/retry/`, {
        method: "POST",
        body: mapping ? { mapping } : undefined,
      }),
    onSuccess: (job) => {
      queryClient.setQueryData(jobKey(job.id), job);
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
}

/**
 * Cancels a running job (its `cancel_url`). The answer is the job, cancelled by then, or still
 * running with `cancel_requested` while the worker stops it (its progress says when).
 */
export function useCancelJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (job: Job) => apiFetch<Job>(sitePath(job.cancel_url as string), { method: "POST" }),
    onSuccess: (job) => {
      queryClient.setQueryData(jobKey(job.id), job);
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
    },
    // Refused (409): it ended meanwhile; show how.
    onError: (_error, job) => void queryClient.invalidateQueries({ queryKey: jobKey(job.id) }),
  });
}

/**
 * Reverts a completed import or delete-all (its `revert_url`), over products changed since only
 * with `force`: resolves with the new revert job.
 */
export function useRevertJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ job, force }: { job: Job; force: boolean }) =>
      apiFetch<Job>(sitePath(job.revert_url as string), { method: "POST", body: { force } }),
    onSuccess: (revert, { job }) => {
      queryClient.setQueryData(jobKey(revert.id), revert);
      void queryClient.invalidateQueries({ queryKey: jobKey(job.id) });
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
}

/** Imports the changes of a completed preview (its `apply_url`): resolves with the new import. */
export function useApplyPreview() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (preview: Job) =>
      apiFetch<Job>(sitePath(preview.apply_url as string), { method: "POST" }),
    onSuccess: (job, preview) => {
      queryClient.setQueryData(jobKey(job.id), job);
      void queryClient.invalidateQueries({ queryKey: jobKey(preview.id) });
      void queryClient.invalidateQueries({ queryKey: ["jobs"] });
    },
  });
}

/** The first page of a completed preview's changes (50, by SKU). */
export function useChanges(preview: Job) {
  return useQuery({
    queryKey: ["changes", preview.id],
    queryFn: ({ signal }) =>
      apiFetch<Page<Change>>(sitePath(preview.changes_url as string), { signal }),
    enabled: preview.changes_url !== null,
  });
}

/** What an upload asks for besides the file. */
export interface UploadRequest extends Omit<ImportOptions, "mapping"> {
  dryRun: boolean;
  /** Sent as chosen; null when the browser could not read the header (the server guesses). */
  mapping: Mapping | null;
  profile: number | null;
}

function uploadFields(request: UploadRequest): Record<string, string> {
  const fields: Record<string, string> = {
    dry_run: String(request.dryRun),
    on_error: request.on_error,
    update_existing: String(request.update_existing),
  };
  if (request.mapping) fields.mapping = JSON.stringify(request.mapping);
  if (request.profile !== null) fields.profile = String(request.profile);
  return fields;
}

export type UploadState =
  | { phase: "idle" }
  | { phase: "uploading"; fileName: string; progress: UploadProgress }
  | { phase: "failed"; fileName: string; error: unknown };

/**
 * Sends a catalog to `/api/products/upload/` (with the options of `request`, else the server's
 * defaults), reporting the bytes sent; resolves with the job.
 */
export function useUpload() {
  const queryClient = useQueryClient();
  const [state, setState] = useState<UploadState>({ phase: "idle" });
  const abortRef = useRef<(() => void) | null>(null);

  useEffect(() => () => abortRef.current?.(), []);

  const start = useCallback(
    async (file: File, request?: UploadRequest): Promise<Job | null> => {
      setState({
        phase: "uploading",
        fileName: file.name,
        progress: { loaded: 0, total: file.size },
      });
      const handle = uploadFile<Job>(
        "/api/products/upload/",
        file,
        (progress) => setState({ phase: "uploading", fileName: file.name, progress }),
        { fields: request ? uploadFields(request) : {} },
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
