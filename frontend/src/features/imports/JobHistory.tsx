import type { UseQueryResult } from "@tanstack/react-query";
import { Button, ErrorMessage } from "@/components/ui";
import { useAccess } from "@/features/auth";
import type { Page } from "@/lib/api";
import { formatDate, formatNumber } from "@/lib/format";
import { StatusBadge } from "./JobProgress";
import { sitePath, type Job } from "./types";

export interface JobHistoryProps {
  jobs: UseQueryResult<Page<Job>>;
  currentId: string | null;
  onShow: (id: string) => void;
}

export function JobHistory({ jobs, currentId, onShow }: JobHistoryProps) {
  const access = useAccess();
  return (
    <section aria-labelledby="history-title" className="history">
      <h2 id="history-title">Recent imports</h2>
      <ErrorMessage error={jobs.error} prefix="Could not load the recent imports:" />
      {jobs.data && jobs.data.results.length === 0 && <p className="muted">No imports yet.</p>}
      {jobs.data && jobs.data.results.length > 0 && (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Recent imports">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col" className="numeric">
                  Rows
                </th>
                <th scope="col" className="numeric">
                  Created / updated
                </th>
                <th scope="col" className="numeric">
                  Invalid
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.data.results.map((job) => (
                <tr key={job.id} aria-current={job.id === currentId ? "true" : undefined}>
                  <td className="truncate">
                    {job.file_name || "–"}
                    {job.dry_run && (
                      <>
                        {" "}
                        <span className="badge">Preview</span>
                      </>
                    )}
                  </td>
                  <td>
                    <StatusBadge job={job} />
                  </td>
                  <td>{formatDate(job.started_at ?? job.created_at)}</td>
                  <td className="numeric">{formatNumber(job.total_rows)}</td>
                  <td className="numeric">
                    {formatNumber(job.created_count)} / {formatNumber(job.updated_count)}
                  </td>
                  <td className="numeric">
                    {job.errors_url && access.canReadFilesOf(job) ? (
                      <a href={sitePath(job.errors_url)} download>
                        {formatNumber(job.invalid_count)}
                        <span className="visually-hidden"> (download the error report)</span>
                      </a>
                    ) : (
                      formatNumber(job.invalid_count)
                    )}
                  </td>
                  <td>
                    {job.id !== currentId && (
                      <Button size="small" onClick={() => onShow(job.id)}>
                        Show<span className="visually-hidden"> {job.file_name}</span>
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
