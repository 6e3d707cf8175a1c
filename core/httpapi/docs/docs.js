// Renders the OpenAPI document of /v1/openapi.json as a reference page:
// the routes grouped by tag, each with its parameters, body, answers and
// credentials, and the shared schemas at the end. Text is only ever set
// with textContent.
"use strict";

(function () {
  const methods = ["get", "put", "post", "patch", "delete"];
  let doc = null;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c) e.append(c);
    return e;
  }

  function refName(ref) { return ref.split("/").pop(); }

  function resolve(obj) {
    let o = obj;
    for (let i = 0; o && o.$ref && i < 10; i++) {
      const parts = o.$ref.replace(/^#\//, "").split("/");
      o = parts.reduce((acc, p) => acc && acc[p], doc);
    }
    return o || {};
  }

  function typeOf(s) {
    if (s.$ref) return refName(s.$ref);
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (s.type === "array") return typeOf(s.items || {}) + "[]";
    let t = Array.isArray(s.type) ? s.type.join(" | ") : (s.type || (s.allOf ? "object" : "any"));
    if (s.format) t += " (" + s.format + ")";
    return t;
  }

  function schemaLink(s) {
    if (s.$ref) return el("a", { href: "#schema-" + refName(s.$ref), text: refName(s.$ref) });
    if (s.type === "array" && s.items && s.items.$ref) {
      return el("span", {}, schemaLink(s.items), "[]");
    }
    return el("span", { class: "type", text: typeOf(s) });
  }

  // properties of an object schema, allOf parts merged.
  function propertiesOf(s) {
    const out = { props: {}, required: [] };
    const add = (part) => {
      const r = resolve(part);
      if (r.allOf) r.allOf.forEach(add);
      Object.assign(out.props, r.properties || {});
      out.required.push(...(r.required || []));
    };
    add(s);
    return out;
  }

  // propertyList lists an object's fields, inline objects expanded.
  function propertyList(s, depth) {
    const { props, required } = propertiesOf(s);
    const ul = el("ul");
    for (const [name, p] of Object.entries(props)) {
      const li = el("li", {}, el("code", { text: name }), ": ", schemaLink(p));
      if (required.includes(name)) li.append(el("span", { class: "req", text: "required" }));
      if (p.description) li.append(el("span", { class: "note", text: " — " + p.description }));
      if (!p.$ref && p.properties && depth < 4) li.append(propertyList(p, depth + 1));
      ul.append(li);
    }
    return ul;
  }

  function schemaTree(s) {
    const box = el("div", { class: "schema" });
    const r = resolve(s);
    if (s.$ref) box.append(el("div", {}, schemaLink(s)));
    if (Object.keys(propertiesOf(s).props).length === 0) {
      if (!s.$ref) box.append(el("div", {}, schemaLink(s)));
      if (r.description) box.append(el("div", { class: "note", text: r.description }));
      return box;
    }
    box.append(propertyList(s, 0));
    return box;
  }

  function securityText(sec) {
    if (!sec || sec.length === 0) return "No credentials.";
    const names = sec.map((req) => {
      const parts = Object.entries(req).map(([k, scopes]) => k + (scopes.length ? " (" + scopes.join(", ") + ")" : ""));
      return parts.length ? parts.join(" + ") : "none";
    });
    return "Credentials: " + names.join(" or ") + ".";
  }

  function operation(path, method, op) {
    const id = op.operationId || method + path;
    const sec = el("section", { class: "op", id: "op-" + id });
    sec.append(el("h3", {}, el("span", { class: "method m-" + method, text: method }), path));
    if (op.summary) sec.append(el("p", { class: "summary", text: op.summary }));
    if (op.description) sec.append(el("p", { class: "desc", text: op.description }));
    sec.append(el("p", { class: "security", text: securityText(op.security !== undefined ? op.security : doc.security) }));
    const params = (op.parameters || []).map(resolve);
    if (params.length) {
      sec.append(el("h4", { text: "Parameters" }));
      const t = el("table");
      for (const p of params) {
        t.append(el("tr", {},
          el("td", {}, el("code", { text: p.name }), p.required ? el("span", { class: "req", text: "required" }) : null),
          el("td", { text: p.in }),
          el("td", {}, schemaLink(p.schema || {})),
          el("td", { class: "note", text: p.description || "" })));
      }
      sec.append(t);
    }
    if (op.requestBody) {
      const body = resolve(op.requestBody);
      for (const [type, media] of Object.entries(body.content || {})) {
        sec.append(el("h4", { text: "Body: " + type + (body.required ? "" : " (optional)") }));
        sec.append(schemaTree(media.schema || {}));
      }
    }
    sec.append(el("h4", { text: "Answers" }));
    for (const [status, resp] of Object.entries(op.responses || {})) {
      const r = resolve(resp);
      const line = el("div", {}, el("span", { class: "status", text: status }), r.description || "");
      sec.append(line);
      for (const [type, media] of Object.entries(r.content || {})) {
        if (type === "text/event-stream") {
          line.append(el("span", { class: "note", text: " (" + type + ")" }));
        } else if (status.startsWith("2")) {
          line.append(el("span", { class: "note", text: " (" + type + ")" }));
          sec.append(schemaTree(media.schema || {}));
        } else if (media.schema) {
          line.append(" — ", schemaLink(media.schema));
        }
      }
    }
    return sec;
  }

  function render() {
    document.title = doc.info.title + " reference";
    document.getElementById("title").textContent = doc.info.title + " reference";
    const main = document.getElementById("main");
    const nav = document.getElementById("nav");
    main.replaceChildren(el("p", { class: "intro", text: doc.info.description || "" }));
    const byTag = new Map((doc.tags || []).map((t) => [t.name, []]));
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const m of methods) {
        if (!item[m]) continue;
        const tag = (item[m].tags || ["Other"])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push([path, m, item[m]]);
      }
    }
    for (const [tag, ops] of byTag) {
      if (!ops.length) continue;
      const tid = "tag-" + tag.toLowerCase().replace(/[^a-z0-9]+/g, "-");
      main.append(el("h2", { class: "tag", id: tid, text: tag }));
      nav.append(el("h2", {}, el("a", { href: "#" + tid, text: tag })));
      for (const [path, m, op] of ops) {
        const section = operation(path, m, op);
        main.append(section);
        nav.append(el("a", { href: "#" + section.id }, el("span", { class: "method m-" + m, text: m }), path));
      }
    }
    const schemas = (doc.components && doc.components.schemas) || {};
    main.append(el("h2", { class: "tag", id: "schemas", text: "Schemas" }));
    nav.append(el("h2", {}, el("a", { href: "#schemas", text: "Schemas" })));
    for (const [name, s] of Object.entries(schemas)) {
      const sec = el("section", { class: "op", id: "schema-" + name }, el("h3", { text: name }));
      if (s.description) sec.append(el("p", { class: "desc", text: s.description }));
      sec.append(schemaTree({ $ref: "#/components/schemas/" + name }));
      main.append(sec);
    }
    const schemes = (doc.components && doc.components.securitySchemes) || {};
    main.append(el("h2", { class: "tag", id: "credentials", text: "Credentials" }));
    const t = el("table");
    for (const [name, sc] of Object.entries(schemes)) {
      const how = sc.type === "http" ? sc.scheme : sc.type === "apiKey" ? sc.in + " " + sc.name : sc.type;
      t.append(el("tr", {}, el("td", {}, el("code", { text: name })), el("td", { text: how }), el("td", { class: "note", text: sc.description || "" })));
    }
    main.append(t);
    if (location.hash) {
      const target = document.getElementById(location.hash.slice(1));
      if (target) target.scrollIntoView();
    }
  }

  fetch("/v1/openapi.json")
    .then((r) => {
      if (!r.ok) throw new Error("GET /v1/openapi.json answered " + r.status);
      return r.json();
    })
    .then((d) => { doc = d; render(); })
    .catch((e) => { document.getElementById("status").textContent = "Could not load the API description: " + e.message; });
})();
