import { useEffect } from "react";
import { Button, ErrorMessage, ProgressBar } from "@/components/ui";
import { onlyFor, useAccess } from "@/features/auth";
import { formatBytes } from "@/lib/format";
import { useJob, useJobs, useRememberedJob, useRetryJob, useUpload } from "./api";
import { FileDrop } from "./FileDrop";
import { JobHistory } from "./JobHistory";
import { JobProgress } from "./JobProgress";
import { isFinished } from "./types";

export const CURRENT_IMPORT_KEY = "product-importer.current-import";

export function ImportPage() {
  const upload = useUpload();
  const jobs = useJobs("import");
  const [jobId, setJobId] = useRememberedJob(CURRENT_IMPORT_KEY);
  const job = useJob(jobId);
  const retry = useRetryJob();
  const access = useAccess();
  const mayImport = access.can("imports.import_products");

  // Coming back with nothing remembered: follow the import that is running, if one is.
  const running = jobs.data?.results.find((candidate) => !isFinished(candidate));
  useEffect(() => {
    if (jobId === null && running) setJobId(running.id);
  }, [jobId, running, setJobId]);

  async function startUpload(file: File) {
    const started = await upload.start(file);
    if (started) setJobId(started.id);
  }

  const uploading = upload.state.phase === "uploading";
  return (
    <main id="main" className="page">
      <h1>Import products</h1>
      <p className="muted">
        A CSV with a header row naming <code>sku</code> and <code>name</code> (any order, any letter
        case), optionally <code>description</code> and <code>active</code>. SKUs are matched in any
        letter case; a product that exists is overwritten.
      </p>
      <FileDrop
        onFile={(file) => void startUpload(file)}
        disabled={uploading || !mayImport}
        note={mayImport ? undefined : onlyFor("editor", "import products", access.role)}
      />

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
              onRetry={(failed) => retry.mutate(failed)}
              retrying={retry.isPending}
              retryError={retry.error}
              onDismiss={() => setJobId(null)}
            />
          )}
        </>
      )}

      <JobHistory jobs={jobs} currentId={jobId} onShow={setJobId} />
    </main>
  );
}

function percentOf(loaded: number, total: number): number {
  return total > 0 ? Math.floor((loaded / total) * 100) : 0;
}
