// Wraps every dashboard JSON in grafana/dashboards in a TypeScript module that states it
// `satisfies` Grafana's own Dashboard type (@grafana/schema), plus each panel's options and
// custom field config against that panel type's generated schema (json-types.ts explains
// how JSON strings meet the schema's string enums). `tsc --noEmit` then
// rejects unknown keys, wrong types and invalid enum values. Usage: node generate.cjs [dir]
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dashboardsDir = path.resolve(process.argv[2] || path.join(__dirname, '..', 'dashboards'));
const outDir = path.join(__dirname, 'generated');

// panel type -> the module of its schema in @grafana/schema (Options, and FieldConfig if any)
const PANEL_SCHEMAS = {
  timeseries: ['TimeSeries', 'timeseries', true],
  stat: ['Stat', 'stat', false],
  gauge: ['Gauge', 'gauge', false],
  bargauge: ['BarGauge', 'bargauge', false],
  table: ['Table', 'table', true],
  statetimeline: ['StateTimeline', 'state-timeline', true],
  barchart: ['BarChart', 'barchart', true],
  text: ['Text', 'text', false],
};
const MODULE_DIR = {
  'state-timeline': 'statetimeline',
};

function schemaImport(type) {
  const [name, dir, hasFieldConfig] = PANEL_SCHEMAS[type];
  const folder = MODULE_DIR[dir] || dir;
  const mod = `@grafana/schema/dist/esm/raw/composable/${folder}/panelcfg/x/${name}PanelCfg_types.gen`;
  const names = [`Options as ${name}Options`];
  if (hasFieldConfig) names.push(`FieldConfig as ${name}FieldConfig`);
  return `import type { ${names.join(', ')} } from '${mod}';`;
}

function flatPanels(panels) {
  const out = [];
  for (const p of panels || []) {
    out.push(p);
    if (p.type === 'row') out.push(...flatPanels(p.panels));
  }
  return out;
}

fs.rmSync(outDir, { recursive: true, force: true });
fs.mkdirSync(outDir, { recursive: true });
const files = fs.readdirSync(dashboardsDir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.error(`no dashboard JSON in ${dashboardsDir}`);
  process.exit(1);
}
for (const file of files) {
  const dashboard = JSON.parse(fs.readFileSync(path.join(dashboardsDir, file), 'utf8'));
  const panels = flatPanels(dashboard.panels).filter((p) => p.type !== 'row');
  const types = [...new Set(panels.map((p) => p.type))].filter((t) => t in PANEL_SCHEMAS);
  const lines = [
    `// generated from grafana/dashboards/${file} by generate.cjs; do not edit`,
    "import type { Dashboard } from '@grafana/schema';",
    "import type { Json } from '../json-types';",
    ...types.map(schemaImport),
    '',
    `export const dashboard = ${JSON.stringify(dashboard, null, 2)} satisfies Json<Dashboard>;`,
    '',
  ];
  for (const p of panels) {
    if (!(p.type in PANEL_SCHEMAS)) continue;
    const [name, , hasFieldConfig] = PANEL_SCHEMAS[p.type];
    const id = `panel${p.id}`;
    lines.push(`export const ${id}Options = ${JSON.stringify(p.options || {})} satisfies Partial<Json<${name}Options>>;`);
    const custom = p.fieldConfig && p.fieldConfig.defaults && p.fieldConfig.defaults.custom;
    if (hasFieldConfig && custom) {
      lines.push(`export const ${id}Custom = ${JSON.stringify(custom)} satisfies Partial<Json<${name}FieldConfig>>;`);
    }
  }
  const out = path.join(outDir, file.replace(/\.json$/, '.ts').replace(/[^A-Za-z0-9_.]/g, '_'));
  fs.writeFileSync(out, lines.join('\n') + '\n');
  console.log(`${file}: ${panels.length} panels -> ${path.relative(__dirname, out)}`);
}
