import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiFetch, queryString, type Page } from "@/lib/api";
import type { Job } from "@/features/imports";
import { PAGE_SIZE, type Product, type ProductInput, type ProductQuery } from "./types";

export const productsKey = ["products"] as const;

export function productListPath(query: ProductQuery, path = "/api/products/"): string {
  return `${path}${queryString({
    search: query.search.trim(),
    sku: query.sku.trim(),
    name: query.name.trim(),
    description: query.description.trim(),
    active: query.active,
    ordering: query.ordering,
    page: query.page === 1 ? undefined : query.page,
    page_size: path === "/api/products/" ? PAGE_SIZE : undefined,
  })}`;
}

/** One page of products; the page on screen stays while the next one loads. */
export function useProducts(query: ProductQuery) {
  return useQuery({
    queryKey: [...productsKey, query],
    queryFn: ({ signal }) => apiFetch<Page<Product>>(productListPath(query), { signal }),
    placeholderData: keepPreviousData,
  });
}

export function useSaveProduct() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, input }: { id: number | null; input: ProductInput }) =>
      id === null
        ? apiFetch<Product>("/api/products/", { method: "POST", body: input })
        : apiFetch<Product>(`/api/products/${id}/`, { method: "PATCH", body: input }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: productsKey }),
  });
}

export function useDeleteProduct() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (product: Product) =>
      apiFetch<null>(`/api/products/${product.id}/`, { method: "DELETE" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: productsKey }),
  });
}

export function useBulkDelete() {
  return useMutation({
    mutationFn: () => apiFetch<Job>("/api/products/bulk_delete/", { method: "POST" }),
  });
}
