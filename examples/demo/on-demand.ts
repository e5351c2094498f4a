/**
 * The demo's on-demand feature view `promo_response`: computed per request by the serving app, and per entity row in
 * training sets, from the same bundled code (features.yaml names this module; `strata apply` bundles it).
 */
interface Row {
  /** promo_features.feature_1: the user's responses to the promo. */
  feature_1: number | null;
  /** all_users_agg_m.feature_2: the user's monthly aggregate (as of the request or the training row). */
  feature_2: number | null;
  /** Request data: the value of the basket the user has right now (not stored anywhere). */
  basket_value: number;
}

export function promoResponse(row: Row) {
  const spend = row.feature_2;
  return {
    responses_per_spend: row.feature_1 === null || spend === null ? null : row.feature_1 / (spend + 1),
    basket_over_spend: spend === null ? null : row.basket_value / (spend + 1),
  };
}
