export {
  sessionKey,
  useSession,
  useSignOut,
  type Role,
  type Session,
  type SessionUser,
} from "./api";
export { accessOf, onlyFor, useAccess, NOT_YOUR_JOB, type Access, type Permission } from "./access";
export { SignInPage } from "./SignInPage";
