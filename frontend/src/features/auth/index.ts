export { sessionKey, useSession, useSignOut, type Session, type SessionUser } from "./api";
export { SignInPage } from "./SignInPage";
