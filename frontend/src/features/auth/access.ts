import { useSession, type Role, type SessionUser } from "./api";

/** The permissions the dashboard asks about (the server's `core/roles.py` holds the table). */
export type Permission =
  | "products.view_product"
  | "products.add_product"
  | "products.change_product"
  | "products.delete_product"
  | "imports.view_job"
  | "imports.import_products"
  | "imports.delete_all_products"
  | "imports.act_on_own_job"
  | "imports.act_on_any_job"
  | "imports.view_any_job_files"
  | "imports.view_importprofile"
  | "imports.add_importprofile"
  | "webhooks.view_webhook";

/** What ownership of a job is read from: the username of who started it. */
export interface OwnedJob {
  created_by: string | null;
}

export interface Access {
  role: Role | null;
  can: (permission: Permission) => boolean;
  /** Retry (and what comes: cancel, apply, revert): an editor its own jobs, an admin any. */
  canActOn: (job: OwnedJob) => boolean;
  /** A job's error report: its creator's and the admins'. */
  canReadFilesOf: (job: OwnedJob) => boolean;
}

export function accessOf(user: SessionUser | null | undefined): Access {
  const held = new Set(user?.permissions ?? []);
  const can = (permission: Permission) => held.has(permission);
  const owns = (job: OwnedJob) =>
    user !== null && user !== undefined && job.created_by === user.username;
  return {
    role: user?.role ?? null,
    can,
    canActOn: (job) =>
      can("imports.act_on_any_job") || (owns(job) && can("imports.act_on_own_job")),
    canReadFilesOf: (job) =>
      can("imports.view_any_job_files") || (owns(job) && can("imports.view_job")),
  };
}

/** The signed-in user's access (the session is loaded before any page shows). */
export function useAccess(): Access {
  return accessOf(useSession().data?.user);
}

/** Why an action is not offered: "Only an admin can delete all products (your role: editor)." */
export function onlyFor(least: "editor" | "admin", action: string, role: Role | null): string {
  const who = least === "admin" ? "an admin" : "an editor or an admin";
  const yours = role ? `your role: ${role}` : "your account has no role: ask an admin for one";
  return `Only ${who} can ${action} (${yours}).`;
}

export const NOT_YOUR_JOB = "Only an admin, or the user who started it, can retry this job.";
