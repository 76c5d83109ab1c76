/**
 * Form submission as a browser does it (HTML standard, "form submission"): the submitted fields
 * are the form's entry list ("constructing the entry list"), the submitter's `formaction`,
 * `formmethod` and `formenctype` override the form's, and the entry list is encoded as the
 * method and enctype say. Controls are found by form owner, so a control outside the form with
 * `form="id"` counts and one inside it that names another form does not.
 */
import { createHash } from 'node:crypto';
import type { CheerioAPI } from 'cheerio';
import type { AnyNode, Element } from 'domhandler';
import type { HttpMethod, RequestInit } from '../types.js';

/** Fields to set on a form: a value (or values, in order) replaces the field's; null removes it. */
export type FormValues = Record<string, string | number | ReadonlyArray<string | number> | null>;

/**
 * Which submit button is clicked: false for none, a CSS selector, or attributes the button must
 * have (`nr` picks the nth, from 0, of the buttons that match, like Scrapy's `clickdata`).
 */
export type ClickData = false | string | Record<string, string | number>;

export interface FormSubmitOptions {
  formdata?: FormValues | undefined;
  clickdata?: ClickData | undefined;
  /** Overrides the form's method. */
  method?: HttpMethod | undefined;
}

type Entry = [name: string, value: string];

const CONTROLS = new Set(['input', 'button', 'select', 'textarea']);
const INPUT_TYPES = new Set([
  'hidden',
  'text',
  'search',
  'tel',
  'url',
  'email',
  'password',
  'date',
  'month',
  'week',
  'time',
  'datetime-local',
  'number',
  'range',
  'color',
  'checkbox',
  'radio',
  'file',
  'submit',
  'image',
  'reset',
  'button',
]);
/** Input types whose value loses its line breaks (value sanitization). */
const SINGLE_LINE = new Set(['text', 'search', 'tel', 'password', 'url', 'email']);
/** Elements whose `dirname` adds a direction field. */
const DIRNAME_TYPES = new Set(['text', 'search', 'tel', 'url', 'email', 'password', 'hidden']);

/** The form a target designates: the form itself, or the form owner of an element inside one. */
export function formOf(element: Element): Element | undefined {
  if (element.name === 'form') return element;
  if (CONTROLS.has(element.name) && element.attribs.form !== undefined) {
    // The owner named by id; found from the document root.
    let root: AnyNode = element;
    while (root.parent) root = root.parent;
    return findById(root, element.attribs.form);
  }
  return ancestorForm(element);
}

/**
 * The request that submits `form`: URL, method, and the fields as `form` (URL-encoded, or the
 * query of a GET) or as a multipart or text/plain `body` with its content type.
 */
export function formSubmission(
  $: CheerioAPI,
  form: Element,
  pageUrl: string,
  baseUrl: string,
  options: FormSubmitOptions = {},
): RequestInit & { method: HttpMethod } {
  const controls = controlsOf(form);
  const submitter = pickSubmitter($, controls, options.clickdata);
  const entries = applyFormData(entryList($, controls, submitter), options.formdata).map(normalizeNewlines);
  const attr = (name: string) => submitter?.attribs[`form${name}`] ?? form.attribs[name];
  const action = (attr('action') ?? '').trim();
  let url: string;
  try {
    url = action === '' ? pageUrl : new URL(action, baseUrl).href;
  } catch {
    throw new Error(`form action ${JSON.stringify(action)} on ${pageUrl} is not a valid URL`);
  }
  if (!/^https?:/i.test(url))
    throw new Error(`form action ${JSON.stringify(action)} on ${pageUrl} is not http(s)`);
  const formMethod = (attr('method') ?? '').trim().toLowerCase();
  if (formMethod === 'dialog' && !options.method)
    throw new Error(`form on ${pageUrl} has method="dialog": it closes a dialog and sends nothing`);
  const method = options.method ?? (formMethod === 'post' ? 'POST' : 'GET');
  const upper = method.toUpperCase();
  if (upper === 'GET' || upper === 'HEAD') return { url, method, form: entries };
  const enctype = (attr('enctype') ?? '').trim().toLowerCase();
  if (enctype === 'multipart/form-data') {
    const { body, boundary } = multipart(entries);
    return { url, method, body, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
  }
  if (enctype === 'text/plain') {
    const body = entries.map(([name, value]) => `${name}=${value}\r\n`).join('');
    return { url, method, body, headers: { 'content-type': 'text/plain' } };
  }
  return { url, method, form: entries };
}

/**
 * The entry list of the form's controls (in tree order) for the given submitter, by the HTML
 * standard, with one deliberate difference: file inputs send nothing (no file is chosen).
 */
function entryList($: CheerioAPI, controls: Element[], submitter: Element | undefined): Entry[] {
  const entries: Entry[] = [];
  const checkedRadios = lastCheckedRadios(controls);
  for (const field of controls) {
    if (hasAncestor(field, 'datalist') || isDisabled(field)) continue;
    const type = field.name === 'input' ? inputType(field) : undefined;
    if (isButton(field) && field !== submitter) continue;
    if (type === 'checkbox' && field.attribs.checked === undefined) continue;
    if (type === 'radio' && !checkedRadios.has(field)) continue;
    if (type === 'file') continue;
    const name = field.attribs.name ?? '';
    if (type === 'image') {
      // The clicked point of an image button; (0, 0) as no real click happens.
      const prefix = name === '' ? '' : `${name}.`;
      entries.push([`${prefix}x`, '0'], [`${prefix}y`, '0']);
      continue;
    }
    if (name === '') continue;
    if (field.name === 'select') {
      for (const option of selectedOptions(field)) entries.push([name, optionValue($, option)]);
    } else if (type === 'checkbox' || type === 'radio') {
      entries.push([name, field.attribs.value ?? 'on']);
    } else if (type === 'hidden' && name.toLowerCase() === '_charset_' && field.attribs.value === undefined) {
      entries.push([name, 'UTF-8']);
    } else if (field.name === 'textarea') {
      entries.push([name, textareaValue($, field)]);
    } else {
      entries.push([name, inputValue(field, type)]);
    }
    const dirname = field.attribs.dirname;
    if (dirname && (field.name === 'textarea' || (type !== undefined && DIRNAME_TYPES.has(type))))
      entries.push([dirname, field.attribs.dir?.toLowerCase() === 'rtl' ? 'rtl' : 'ltr']);
  }
  return entries;
}

/** The listed controls whose form owner is `form`, in tree order. */
function controlsOf(form: Element): Element[] {
  const id = form.attribs.id;
  const found: Element[] = [];
  const owned = (el: Element) =>
    el.attribs.form !== undefined ? id !== undefined && el.attribs.form === id : ancestorForm(el) === form;
  let scope: AnyNode = form;
  // Controls elsewhere in the document may name the form by id.
  if (id !== undefined) while (scope.parent) scope = scope.parent;
  walk(scope === form ? form.children : [scope], (el) => {
    if (CONTROLS.has(el.name) && owned(el)) found.push(el);
  });
  return found;
}

/** The button the submission is made with, per `clickdata`; the first submit button by default. */
function pickSubmitter(
  $: CheerioAPI,
  controls: Element[],
  clickdata: ClickData | undefined,
): Element | undefined {
  if (clickdata === false) return undefined;
  const buttons = controls.filter((el) => isSubmitButton(el) && !isDisabled(el));
  if (clickdata === undefined) return buttons[0];
  let matching: Element[];
  let nr = 0;
  if (typeof clickdata === 'string') {
    matching = buttons.filter((el) => $(el).is(clickdata));
  } else {
    const { nr: index, ...attributes } = clickdata;
    nr = Number(index ?? 0);
    matching = buttons.filter((el) =>
      Object.entries(attributes).every(([name, value]) => el.attribs[name] === String(value)),
    );
  }
  const button = matching[nr];
  if (!button) throw new Error(`no submit button of the form matches clickdata ${JSON.stringify(clickdata)}`);
  return button;
}

/** Entries with `formdata` applied: each named field's values replaced in place, new ones last. */
function applyFormData(entries: Entry[], formdata: FormValues | undefined): Entry[] {
  if (!formdata) return entries;
  let out = entries;
  for (const [name, value] of Object.entries(formdata)) {
    const values =
      value === null || value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)];
    const at = out.findIndex(([n]) => n === name);
    const rest = out.filter(([n]) => n !== name);
    const replacement = values.map((v): Entry => [name, v]);
    if (at < 0) rest.push(...replacement);
    else rest.splice(at, 0, ...replacement);
    out = rest;
  }
  return out;
}

/** Line breaks as CRLF in names and values, as every form encoding sends them. */
function normalizeNewlines([name, value]: Entry): Entry {
  const crlf = (text: string) => text.replace(/\r\n|\r|\n/g, '\r\n');
  return [crlf(name), crlf(value)];
}

/** RFC 7578 body of string fields; the boundary is derived from the content, so equal forms make equal requests. */
function multipart(entries: Entry[]): { body: string; boundary: string } {
  const escape = (name: string) => name.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
  const parts = entries.map(
    ([name, value]) => `Content-Disposition: form-data; name="${escape(name)}"\r\n\r\n${value}\r\n`,
  );
  const content = parts.join('');
  let boundary: string;
  for (let salt = 0; ; salt++) {
    const hash = createHash('sha256').update(`${salt}\n${content}`).digest('hex').slice(0, 32);
    boundary = `----trawlFormBoundary${hash}`;
    if (!content.includes(boundary)) break;
  }
  const body = parts.map((part) => `--${boundary}\r\n${part}`).join('') + `--${boundary}--\r\n`;
  return { body, boundary };
}

function inputType(el: Element): string {
  const type = (el.attribs.type ?? '').trim().toLowerCase();
  return INPUT_TYPES.has(type) ? type : 'text';
}

function isSubmitButton(el: Element): boolean {
  if (el.name === 'input') {
    const type = inputType(el);
    return type === 'submit' || type === 'image';
  }
  if (el.name !== 'button') return false;
  const type = (el.attribs.type ?? '').trim().toLowerCase();
  return type !== 'reset' && type !== 'button';
}

function isButton(el: Element): boolean {
  if (el.name === 'button') return true;
  if (el.name !== 'input') return false;
  const type = inputType(el);
  return type === 'submit' || type === 'image' || type === 'reset' || type === 'button';
}

/** Disabled itself, or inside a disabled fieldset other than in that fieldset's first legend. */
function isDisabled(el: Element): boolean {
  if (el.attribs.disabled !== undefined) return true;
  let child: Element = el;
  for (let node = el.parent; node && node.type !== 'root'; node = node.parent) {
    const parent = node as Element;
    if (parent.name === 'fieldset' && parent.attribs.disabled !== undefined) {
      const legend = parent.children.find((c): c is Element => isElement(c) && c.name === 'legend');
      if (child !== legend) return true;
    }
    child = parent;
  }
  return false;
}

/** Of radio buttons sharing a name, only the last one marked checked is (as the parser leaves them). */
function lastCheckedRadios(controls: Element[]): Set<Element> {
  const byName = new Map<string, Element>();
  const unnamed: Element[] = [];
  for (const el of controls) {
    if (el.name !== 'input' || inputType(el) !== 'radio' || el.attribs.checked === undefined) continue;
    const name = el.attribs.name ?? '';
    if (name === '') unnamed.push(el);
    else byName.set(name, el);
  }
  return new Set([...byName.values(), ...unnamed]);
}

/**
 * The options of a select whose selectedness is true and that are not disabled. A single-choice
 * select shown as a drop-down with none marked selected has its first enabled option selected;
 * with several marked, the last.
 */
function selectedOptions(select: Element): Element[] {
  const options: Array<{ el: Element; disabled: boolean }> = [];
  for (const child of select.children) {
    if (!isElement(child)) continue;
    if (child.name === 'option') options.push({ el: child, disabled: child.attribs.disabled !== undefined });
    else if (child.name === 'optgroup') {
      const groupOff = child.attribs.disabled !== undefined;
      for (const inner of child.children)
        if (isElement(inner) && inner.name === 'option')
          options.push({ el: inner, disabled: groupOff || inner.attribs.disabled !== undefined });
    }
  }
  const marked = options.filter((o) => o.el.attribs.selected !== undefined);
  if (select.attribs.multiple !== undefined) return marked.filter((o) => !o.disabled).map((o) => o.el);
  const last = marked[marked.length - 1];
  if (last) return last.disabled ? [] : [last.el];
  const size = Number.parseInt(select.attribs.size ?? '', 10);
  if (size > 1) return [];
  const first = options.find((o) => !o.disabled);
  return first ? [first.el] : [];
}

/**
 * A textarea's text. htmlparser2 keeps it raw, character references included, where the HTML
 * parser decodes them (RCDATA) and drops a line break right after the start tag.
 */
function textareaValue($: CheerioAPI, field: Element): string {
  const raw = $(field)
    .text()
    .replace(/^\r?\n/, '');
  if (!raw.includes('&')) return raw;
  return $(`<p>${raw.replace(/</g, '&lt;')}</p>`).text();
}

function optionValue($: CheerioAPI, option: Element): string {
  if (option.attribs.value !== undefined) return option.attribs.value;
  return $(option)
    .text()
    .replace(/[\t\n\f\r ]+/g, ' ')
    .trim();
}

/** An input's value after the value sanitization of its type. */
function inputValue(el: Element, type: string | undefined): string {
  const raw = el.attribs.value ?? '';
  if (type === undefined) return raw;
  if (SINGLE_LINE.has(type)) {
    const single = raw.replace(/[\r\n]/g, '');
    return type === 'url' || type === 'email' ? single.trim() : single;
  }
  if (type === 'color') return /^#[0-9a-f]{6}$/i.test(raw) ? raw.toLowerCase() : '#000000';
  if (type === 'range') {
    const min = finiteOr(el.attribs.min, 0);
    const max = Math.max(min, finiteOr(el.attribs.max, 100));
    const value = Number.parseFloat(raw);
    return String(Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : min + (max - min) / 2);
  }
  return raw;
}

function finiteOr(text: string | undefined, fallback: number): number {
  const value = Number.parseFloat(text ?? '');
  return Number.isFinite(value) ? value : fallback;
}

function isElement(node: AnyNode): node is Element {
  return node.type === 'tag' || node.type === 'script' || node.type === 'style';
}

function ancestorForm(el: Element): Element | undefined {
  for (let node = el.parent; node; node = node.parent)
    if (isElement(node) && node.name === 'form') return node;
  return undefined;
}

function hasAncestor(el: Element, name: string): boolean {
  for (let node = el.parent; node; node = node.parent) if (isElement(node) && node.name === name) return true;
  return false;
}

function findById(root: AnyNode, id: string): Element | undefined {
  let found: Element | undefined;
  walk([root], (el) => {
    if (found === undefined && el.attribs.id === id) found = el;
  });
  return found?.name === 'form' ? found : undefined;
}

/**
 * Calls `visit` for every element under `nodes`, in tree order, skipping `<template>` contents
 * (not part of the document). Iterative, so a deep tree cannot overflow the stack.
 */
function walk(nodes: readonly AnyNode[], visit: (el: Element) => void): void {
  const stack: AnyNode[] = [...nodes].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.type === 'root') {
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
      continue;
    }
    if (!isElement(node)) continue;
    visit(node);
    if (node.name === 'template') continue;
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
}
