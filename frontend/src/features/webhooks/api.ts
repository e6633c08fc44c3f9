import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { apiFetch, type Page } from "@/lib/api";
import type { Delivery, Webhook, WebhookInput, WebhookTestResult } from "./types";

export const webhooksKey = ["webhooks"] as const;
const deliveriesKey = (id: number) => ["webhooks", id, "deliveries"] as const;

export function useWebhooks() {
  return useQuery({
    queryKey: webhooksKey,
    queryFn: ({ signal }) => apiFetch<Page<Webhook>>("/api/webhooks/?page_size=100", { signal }),
  });
}

export function useSaveWebhook() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, input }: { id: number | null; input: Partial<WebhookInput> }) =>
      id === null
        ? apiFetch<Webhook>("/api/webhooks/", { method: "POST", body: input })
        : apiFetch<Webhook>(`/api/webhooks/${id}/`, { method: "PATCH", body: input }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: webhooksKey }),
  });
}

export function useDeleteWebhook() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (webhook: Webhook) =>
      apiFetch<null>(`/api/webhooks/${webhook.id}/`, { method: "DELETE" }),
    onSuccess: (_, webhook) => {
      // Gone from the list at once, so that nothing asks for its delivery log any more.
      queryClient.setQueryData<Page<Webhook>>(webhooksKey, (page) =>
        page
          ? {
              ...page,
              count: page.count - 1,
              results: page.results.filter((item) => item.id !== webhook.id),
            }
          : page,
      );
      queryClient.removeQueries({ queryKey: deliveriesKey(webhook.id) });
      return queryClient.invalidateQueries({ queryKey: webhooksKey, exact: true });
    },
  });
}

export function useRotateSecret() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (webhook: Webhook) =>
      apiFetch<Webhook>(`/api/webhooks/${webhook.id}/rotate_secret/`, { method: "POST" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: webhooksKey }),
  });
}

export function useTestWebhook() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (webhook: Webhook) =>
      apiFetch<WebhookTestResult>(`/api/webhooks/${webhook.id}/test/`, { method: "POST" }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: webhooksKey }),
  });
}

// An open log looks again every 2 s while a delivery is being sent, and every 10 s otherwise, so
// that a delivery the worker records after the log was opened still shows up.
const PENDING_REFRESH_MS = 2000;
const IDLE_REFRESH_MS = 10_000;

export function useDeliveries(webhookId: number, enabled: boolean) {
  const queryClient = useQueryClient();
  const deliveries = useQuery({
    queryKey: deliveriesKey(webhookId),
    queryFn: ({ signal }) =>
      apiFetch<Page<Delivery>>(`/api/webhooks/${webhookId}/deliveries/?page_size=20`, { signal }),
    enabled,
    refetchInterval: (query) =>
      query.state.data?.results.some((delivery) => delivery.status === "pending")
        ? PENDING_REFRESH_MS
        : IDLE_REFRESH_MS,
  });
  // A delivery that has just finished changes the card's "Last delivery" line: fetch the list again
  // (exact, or the deliveries themselves would be refetched too).
  const newest = deliveries.data?.results.find((delivery) => delivery.status !== "pending");
  const newestFinished = newest ? `${newest.id}@${newest.last_attempt_at}` : null;
  useEffect(() => {
    if (newestFinished) void queryClient.invalidateQueries({ queryKey: webhooksKey, exact: true });
  }, [newestFinished, queryClient]);
  return deliveries;
}

export function useRedeliver(webhookId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (delivery: Delivery) =>
      apiFetch<Delivery>(`/api/webhooks/${webhookId}/deliveries/${delivery.id}/redeliver/`, {
        method: "POST",
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: deliveriesKey(webhookId) }),
  });
}
