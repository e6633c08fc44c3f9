import { useEffect, useState } from "react";
import { Button, ErrorMessage, ProgressBar } from "@/components/ui";
import { onlyFor, useAccess } from "@/features/auth";
import { formatBytes } from "@/lib/format";
import {
  useJob,
  useJobs,
  useRememberedJob,
  useRetryJob,
  useUpload,
  type JobsQuery,
  type UploadRequest,
} from "./api";
import { FileDrop } from "./FileDrop";
import { ImportSetup, type ChosenFile } from "./ImportSetup";
import { JobHistory } from "./JobHistory";
import { JobProgress } from "./JobProgress";
import { PreviewChanges } from "./PreviewChanges";
import { RetryWithMapping } from "./RetryWithMapping";
import { readSample } from "./sample";
import { isFinished, type Job } from "./types";

export const CURRENT_IMPORT_KEY = "product-importer.current-import";

const HISTORY_PAGE_SIZE = 10;

export function ImportPage() {
  const upload = useUpload();
  const [historyQuery, setHistoryQuery] = useState<JobsQuery>({
    page: 1,
    pageSize: HISTORY_PAGE_SIZE,
  });
  const jobs = useJobs(historyQuery);
  const [jobId, setJobId] = useRememberedJob(CURRENT_IMPORT_KEY);
  const job = useJob(jobId);
  const retry = useRetryJob();
  const access = useAccess();
  const mayImport = access.can("imports.import_products");
  // The file chosen, shown with its columns until it is sent.
  const [chosen, setChosen] = useState<(ChosenFile & { key: number }) | null>(null);

  // Coming back with nothing remembered: follow the import that is running, if one is.
  const running = jobs.data?.results.find(
    (candidate) => candidate.kind === "import" && !isFinished(candidate),
  );
  useEffect(() => {
    if (jobId === null && running) setJobId(running.id);
  }, [jobId, running, setJobId]);

  function choose(file: File) {
    upload.reset();
    setChosen((current) => ({ file, sample: null, readError: null, key: (current?.key ?? 0) + 1 }));
    // Only this file's answer counts: another may have been chosen meanwhile.
    const settle = (read: Partial<ChosenFile>) =>
      setChosen((current) => (current?.file === file ? { ...current, ...read } : current));
    readSample(file).then(
      (sample) => settle({ sample }),
      (readError: unknown) => settle({ readError }),
    );
  }

  async function startUpload(file: File, request: UploadRequest) {
    const started = await upload.start(file, request);
    if (started) {
      setChosen(null);
      setJobId(started.id);
    }
  }

  function details(shown: Job) {
    if (shown.dry_run && shown.status === "COMPLETED") {
      return <PreviewChanges preview={shown} onApplied={(applied) => setJobId(applied.id)} />;
    }
    if (shown.status === "FAILED" && shown.needs_mapping && shown.file_columns?.length) {
      if (!access.canActOn(shown)) return null;
      return (
        <RetryWithMapping
          key={shown.id}
          job={shown}
          retrying={retry.isPending}
          onRetry={(mapping) => retry.mutate({ job: shown, mapping })}
        />
      );
    }
    return null;
  }

  const uploading = upload.state.phase === "uploading";
  return (
    <main id="main" className="page">
      <h1>Import products</h1>
      <p className="muted">
        A CSV with a header row and columns for the <code>sku</code> and the <code>name</code>,
        optionally the <code>description</code> and <code>active</code>, in any order. Once a file
        is chosen, its columns and first rows are shown to check before anything is written. SKUs
        are matched in any letter case.{" "}
        <a href="/api/products/template.csv" download>
          Download a template
        </a>
      </p>
      <FileDrop
        onFile={choose}
        disabled={uploading || !mayImport}
        note={mayImport ? undefined : onlyFor("editor", "import products", access.role)}
      />
      {chosen && !uploading && (
        <ImportSetup
          key={chosen.key}
          chosen={chosen}
          onSubmit={(request) => void startUpload(chosen.file, request)}
          onCancel={() => setChosen(null)}
        />
      )}

      {upload.state.phase === "uploading" && (
        <section className="card job" aria-label="Upload">
          <div className="job__header">
            <h3 className="job__title">{upload.state.fileName}</h3>
            <Button size="small" onClick={upload.cancel}>
              Cancel
            </Button>
          </div>
          <p className="job__stage">
            <strong>Uploading</strong> – {formatBytes(upload.state.progress.loaded)} of{" "}
            {formatBytes(upload.state.progress.total)}
          </p>
          <div className="job__bar">
            <ProgressBar
              value={percentOf(upload.state.progress.loaded, upload.state.progress.total)}
              label="Upload progress"
              valueText={`${formatBytes(upload.state.progress.loaded)} of ${formatBytes(upload.state.progress.total)}`}
            />
            <span className="job__percent">
              {percentOf(upload.state.progress.loaded, upload.state.progress.total)} %
            </span>
          </div>
        </section>
      )}
      {upload.state.phase === "failed" && (
        <section className="card job" aria-label="Upload failed">
          <h3 className="job__title">{upload.state.fileName}</h3>
          <ErrorMessage error={upload.state.error} prefix="The upload failed:" />
          <Button size="small" onClick={upload.reset}>
            Dismiss
          </Button>
        </section>
      )}

      {!uploading && jobId !== null && (
        <>
          <ErrorMessage error={job.error} prefix="Could not load the import's progress:" />
          {job.data && (
            <JobProgress
              job={job.data}
              onRetry={(failed) => retry.mutate({ job: failed })}
              retrying={retry.isPending}
              retryError={retry.error}
              onDismiss={() => setJobId(null)}
            >
              {details(job.data)}
            </JobProgress>
          )}
        </>
      )}

      <JobHistory
        jobs={jobs}
        query={historyQuery}
        onQuery={setHistoryQuery}
        currentId={jobId}
        onShow={setJobId}
        onReverting={(revert) => setJobId(revert.id)}
      />
    </main>
  );
}

function percentOf(loaded: number, total: number): number {
  return total > 0 ? Math.floor((loaded / total) * 100) : 0;
}
