import { useMutation, useQuery, useQueryClient, type QueryClient } from "@tanstack/react-query";
import { apiFetch } from "@/lib/api";

export type Role = "viewer" | "editor" | "admin";

export interface SessionUser {
  id: number;
  username: string;
  is_staff: boolean;
  /** null: an account in no role, which may do nothing. */
  role: Role | null;
  /** The permissions the role holds, as Django names them (`products.add_product`). */
  permissions: string[];
}

export interface Session {
  user: SessionUser | null;
}

export const SESSION_PATH = "/api/auth/session/";
export const sessionKey = ["session"] as const;

/** Who is signed in; the same request also sets the CSRF cookie that writes need. */
export function useSession() {
  return useQuery({
    queryKey: sessionKey,
    queryFn: ({ signal }) => apiFetch<Session>(SESSION_PATH, { signal }),
    staleTime: Infinity,
  });
}

export function useSignIn() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (credentials: { username: string; password: string }) =>
      apiFetch<Session>(SESSION_PATH, { method: "POST", body: credentials }),
    onSuccess: (session) => {
      forgetEverythingButTheSession(queryClient);
      queryClient.setQueryData(sessionKey, session);
    },
  });
}

export function useSignOut() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => apiFetch<null>(SESSION_PATH, { method: "DELETE" }),
    onSettled: () => {
      forgetEverythingButTheSession(queryClient);
      queryClient.setQueryData<Session>(sessionKey, { user: null });
    },
  });
}

/** Another user's data must not show: drop every cached answer but the session's own query. */
function forgetEverythingButTheSession(queryClient: QueryClient): void {
  queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== sessionKey[0] });
}
