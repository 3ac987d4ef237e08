/* DOM helpers. Every value from the server goes into the page through textContent or an
 * attribute, never parsed as HTML; styles go through the CSSOM, which the page's
 * Content-Security-Policy allows (style attributes it does not). */

const SVG_NS = "http://www.w3.org/2000/svg";
const owners = new Map();

/* Claim the elements ``ids`` for ``owner``; returns a lookup that refuses any other id.
 * One element is written by one part of the page: a second claim throws at start-up. */
export function claim(owner, ids) {
  const nodes = new Map();
  ids.forEach((id) => {
    if (owners.has(id)) throw new Error(`#${id} is claimed by ${owners.get(id)} and ${owner}`);
    const node = document.getElementById(id);
    if (!node) throw new Error(`${owner}: no element #${id} in the page`);
    owners.set(id, owner);
    nodes.set(id, node);
  });
  return (id) => {
    const node = nodes.get(id);
    if (!node) throw new Error(`${owner} writes #${id}, which it did not claim`);
    return node;
  };
}

function setAttrs(node, attrs) {
  Object.entries(attrs || {}).forEach(([key, value]) => {
    if (value === null || value === undefined) return;
    if (key === "text") node.textContent = value;
    else if (key === "style") Object.entries(value).forEach(([k, v]) => node.style.setProperty(k, v));
    else node.setAttribute(key, value);
  });
}

export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  (children || []).forEach((child) => {
    node.appendChild(typeof child === "string" || typeof child === "number"
      ? document.createTextNode(String(child)) : child);
  });
  return node;
}

export function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  return node;
}

export function setText(node, value) {
  node.textContent = value === null || value === undefined ? "–" : String(value);
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export async function getJSON(url, headers) {
  const response = await fetch(url, {
    headers: { Accept: "application/json", ...(headers || {}) },
    cache: "no-store",
  });
  const body = await response.json().catch(() => null);
  return { status: response.status, ok: response.ok, body, headers: response.headers };
}
