import type { UseQueryResult } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Button, ErrorMessage } from "@/components/ui";
import { useAccess, useSession } from "@/features/auth";
import type { Page } from "@/lib/api";
import { formatDate, formatDuration, formatNumber } from "@/lib/format";
import type { JobsQuery } from "./api";
import { StatusBadge } from "./JobProgress";
import { RevertDialog } from "./RevertDialog";
import { isFinished, sitePath, type Job, type JobKind, type JobStatus } from "./types";
import { jobName, outcomeOf } from "./words";

const KINDS: [JobKind | "", string][] = [
  ["", "All jobs"],
  ["import", "Imports"],
  ["bulk_delete", "Delete all"],
  ["revert", "Reverts"],
];

const STATUSES: [JobStatus | "", string][] = [
  ["", "Any status"],
  ["PENDING", "Queued or waiting"],
  ["PROCESSING", "Running"],
  ["COMPLETED", "Done"],
  ["FAILED", "Failed"],
  ["CANCELLED", "Cancelled"],
];

export interface JobHistoryProps {
  jobs: UseQueryResult<Page<Job>>;
  query: JobsQuery;
  onQuery: (query: JobsQuery) => void;
  currentId: string | null;
  onShow: (id: string) => void;
  /** A revert was started from a row: the page follows it. */
  onReverting: (revert: Job) => void;
}

/**
 * Every job, newest first, a page at a time: what, who, where it is or how it ended, when, how
 * long, its outcome; Show, and Revert for the jobs that can be reverted.
 */
export function JobHistory({
  jobs,
  query,
  onQuery,
  currentId,
  onShow,
  onReverting,
}: JobHistoryProps) {
  const access = useAccess();
  const username = useSession().data?.user?.username;
  const [reverting, setReverting] = useState<Job | null>(null);
  const kindId = useId();
  const statusId = useId();
  const filtered = Boolean(query.kind || query.status || query.createdBy);
  const filter = (change: Partial<JobsQuery>) => onQuery({ ...query, ...change, page: 1 });
  const data = jobs.data;
  return (
    <section aria-labelledby="history-title" className="history">
      <h2 id="history-title">Job history</h2>
      <div className="history__filters" role="group" aria-label="Filter the job history">
        <div className="field">
          <label htmlFor={kindId} className="field__label">
            Kind
          </label>
          <select
            id={kindId}
            className="input"
            value={query.kind ?? ""}
            onChange={(event) => filter({ kind: (event.target.value as JobKind) || undefined })}
          >
            {KINDS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={statusId} className="field__label">
            Status
          </label>
          <select
            id={statusId}
            className="input"
            value={query.status ?? ""}
            onChange={(event) => filter({ status: (event.target.value as JobStatus) || undefined })}
          >
            {STATUSES.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        {username && (
          <label className="checkbox">
            <input
              type="checkbox"
              checked={query.createdBy === username}
              onChange={(event) =>
                filter({ createdBy: event.target.checked ? username : undefined })
              }
            />
            Only mine
          </label>
        )}
      </div>
      <ErrorMessage error={jobs.error} prefix="Could not load the job history:" />
      {data && data.results.length === 0 && (
        <p className="muted">{filtered ? "No job matches these filters." : "No jobs yet."}</p>
      )}
      {data && data.results.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Jobs, newest first">
          <table className="table" aria-busy={jobs.isPlaceholderData && jobs.isFetching}>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Who</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col" className="numeric">
                  Duration
                </th>
                <th scope="col" className="numeric">
                  Rows
                </th>
                <th scope="col">Result</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.results.map((job) => (
                <tr key={job.id} aria-current={job.id === currentId ? "true" : undefined}>
                  <td className="truncate">
                    {jobName(job)}
                    {job.dry_run && (
                      <>
                        {" "}
                        <span className="badge">Preview</span>
                      </>
                    )}
                  </td>
                  <td>{job.created_by ?? "–"}</td>
                  <td>
                    <StatusBadge job={job} />
                    {job.reverted_by && (
                      <>
                        {" "}
                        <span className="badge">Reverted</span>
                      </>
                    )}
                  </td>
                  <td>{formatDate(job.started_at ?? job.created_at)}</td>
                  <td className="numeric">{formatDuration(job.duration_s)}</td>
                  <td className="numeric">{formatNumber(job.total_rows)}</td>
                  <td>
                    {isFinished(job) ? outcomeOf(job) : `${job.percent} %`}
                    {job.errors_url && access.canReadFilesOf(job) && (
                      <>
                        {" · "}
                        <a href={sitePath(job.errors_url)} download>
                          {job.kind === "revert" ? "conflicts" : "errors"} (CSV)
                          <span className="visually-hidden"> of {jobName(job)}</span>
                        </a>
                      </>
                    )}
                  </td>
                  <td className="history__actions">
                    {job.id !== currentId && (
                      <Button size="small" onClick={() => onShow(job.id)}>
                        Show<span className="visually-hidden"> {jobName(job)}</span>
                      </Button>
                    )}
                    {job.revertible && job.revert_url && access.canActOn(job) && (
                      <Button size="small" onClick={() => setReverting(job)}>
                        {job.kind === "bulk_delete" ? "Undo" : "Revert"}
                        <span className="visually-hidden"> {jobName(job)}</span>
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && data.count > 0 && (
        <HistoryPages
          page={query.page}
          pageSize={query.pageSize}
          count={data.count}
          hasNext={data.next !== null}
          onPage={(page) => onQuery({ ...query, page })}
        />
      )}
      <RevertDialog
        job={reverting}
        onClose={() => setReverting(null)}
        onStarted={(revert) => {
          setReverting(null);
          onReverting(revert);
        }}
      />
    </section>
  );
}

function HistoryPages({
  page,
  pageSize,
  count,
  hasNext,
  onPage,
}: {
  page: number;
  pageSize: number;
  count: number;
  hasNext: boolean;
  onPage: (page: number) => void;
}) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  const first = (page - 1) * pageSize + 1;
  const last = Math.min(page * pageSize, count);
  return (
    <nav className="pagination" aria-label="Pages of the job history">
      <p className="pagination__summary" aria-live="polite">
        {formatNumber(first)}–{formatNumber(last)} of {formatNumber(count)}{" "}
        {count === 1 ? "job" : "jobs"} · page {formatNumber(page)} of {formatNumber(pages)}
      </p>
      <div className="pagination__buttons">
        <Button size="small" onClick={() => onPage(page - 1)} disabled={page <= 1}>
          Previous
        </Button>
        <Button size="small" onClick={() => onPage(page + 1)} disabled={!hasNext}>
          Next
        </Button>
      </div>
    </nav>
  );
}
