import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";
import { parsePageRef } from "./pages";
import type { ProductQuery } from "./types";

const TEXT_KEYS = ["search", "sku", "name", "description", "ordering"] as const;

/**
 * The list's query lives in the address (`/products?search=lamp&page=2`, `?page=last`): links and
 * reloads keep it.
 */
export function useProductQuery() {
  const [params, setParams] = useSearchParams();

  const query = useMemo<ProductQuery>(() => {
    const active = params.get("active");
    return {
      search: params.get("search") ?? "",
      sku: params.get("sku") ?? "",
      name: params.get("name") ?? "",
      description: params.get("description") ?? "",
      ordering: params.get("ordering") ?? "",
      active: active === "true" || active === "false" ? active : "",
      page: parsePageRef(params.get("page")),
    };
  }, [params]);

  /** Changes some of the query; any change but the page's goes back to page 1. */
  const update = useCallback(
    (changes: Partial<ProductQuery>) => {
      setParams(
        (current) => {
          const next = new URLSearchParams(current);
          for (const [key, value] of Object.entries(changes)) {
            if (value === "" || value === undefined || (key === "page" && value === 1)) {
              next.delete(key);
            } else {
              next.set(key, String(value));
            }
          }
          if (!("page" in changes)) next.delete("page");
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );

  const hasFilters = TEXT_KEYS.some((key) => key !== "ordering" && query[key]) || !!query.active;
  return { query, update, hasFilters };
}
