export { jobKey, useJob, useJobs, useRememberedJob, useRevertJob } from "./api";
export { ImportPage } from "./ImportPage";
export { JobProgress } from "./JobProgress";
export { isFinished, type Job } from "./types";
