export interface Product {
  id: number;
  name: string;
  sku: string;
  description: string;
  active: boolean;
  created_at: string;
  updated_at: string;
}

export type ProductInput = Pick<Product, "name" | "sku" | "description" | "active">;

import type { PageRef } from "./pages";

/** The list's query: filters, search, order and page, as `/api/products/` takes them. */
export interface ProductQuery {
  search: string;
  sku: string;
  name: string;
  description: string;
  active: "" | "true" | "false";
  ordering: string;
  page: PageRef;
}

export const PAGE_SIZE = 25;
