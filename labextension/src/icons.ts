import { LabIcon } from '@jupyterlab/ui-components';

/**
 * The Ray icon's SVG: a head node linked to three workers. Drawn for this
 * extension; the `jp-icon3` class lets JupyterLab themes recolour it.
 */
const RAY_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 9.2a2.8 2.8 0 1 1 0 5.6 2.8 2.8 0 0 1 0-5.6z"/>
    <circle cx="12" cy="3.5" r="2"/>
    <circle cx="4.6" cy="17.8" r="2"/>
    <circle cx="19.4" cy="17.8" r="2"/>
    <path d="M11.2 5.3h1.6v4h-1.6zM6.1 16.3l3.6-2.1.8 1.4-3.6 2.1zM13.5 15.6l.8-1.4 3.6 2.1-.8 1.4z"/>
  </g>
</svg>`;

/** The `iog-jupyter:ray` icon of the Ray sidebar tab. */
export const rayIcon = new LabIcon({
  name: 'iog-jupyter:ray',
  svgstr: RAY_SVG
});
