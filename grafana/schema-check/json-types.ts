/**
 * The shape a JSON document must have to be a T: @grafana/schema declares many fields as
 * TypeScript string enums (e.g. ThresholdsMode), which a string from JSON can never be
 * assigned to. `${E}` turns such an enum into the union of its string values, so
 * "absolute" is accepted and "absolut" is still rejected. Everything else keeps its type.
 */
export type Json<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;
