import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiFetch, queryString, type Page } from "@/lib/api";
import type { ImportOptions, ImportProfile } from "./types";

export const profilesKey = ["import-profiles"] as const;

/** The saved import profiles (the first hundred, as the server orders them). */
export function useProfiles(enabled = true) {
  return useQuery({
    enabled,
    queryKey: profilesKey,
    queryFn: ({ signal }) =>
      apiFetch<Page<ImportProfile>>(`/api/import-profiles/${queryString({ page_size: 100 })}`, {
        signal,
      }),
  });
}

export interface ProfileInput extends ImportOptions {
  name: string;
}

/** Saves a new profile; a name already taken is refused with `fieldErrors.name`. */
export function useCreateProfile() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (input: ProfileInput) =>
      apiFetch<ImportProfile>("/api/import-profiles/", { method: "POST", body: input }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: profilesKey }),
  });
}
