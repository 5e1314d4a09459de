/**
 * The Vitessce plugin view: a React component that mounts scNym's Transfer-labels panel (the same
 * `PanelDefinition` our own viewer registers) into a div, with a `VitessceHost` as its viewer,
 * fed by `useCoordination` on the view's coordination scopes.
 */
import { useEffect, useRef, useState } from 'react';
import { PluginViewType, useCoordination, useCoordinationScopes, type ViewProps } from 'vitessce';
import type { PanelDefinition } from '@scnym/plugin/api';
import type { ViewerConfig } from '@scnym/plugin/config';
import type { DatasetLocation, DatasetSummary } from '@scnym/plugin/data-messages';
import {
  VitessceHost,
  type Coordination,
  type CoordinationBridge,
  type DatasetReader,
  type FileSets,
} from './adapter.js';
import { VIEW_TYPE } from './config.js';

/** The coordination types the view reads and writes (all on the scopes its config gives it). */
export const COORDINATION_TYPES = [
  'dataset',
  'obsType',
  'obsSetSelection',
  'obsSetColor',
  'obsSetExpansion',
  'additionalObsSets',
  'obsColorEncoding',
  'featureSelection',
];

const KEYS: (keyof Coordination)[] = [
  'additionalObsSets',
  'obsSetSelection',
  'obsSetColor',
  'obsSetExpansion',
  'obsColorEncoding',
  'featureSelection',
];

export interface ViewContext {
  config: ViewerConfig;
  dataset: DatasetLocation;
  summary: DatasetSummary;
  reader: DatasetReader;
  setColumns: readonly string[];
  /** The set columns as the page read them, and its label colours (see VitessceHostOptions). */
  fileSets?: FileSets;
  labelColors?: Map<string, string>;
  panel: PanelDefinition;
  /** Called once the panel is mounted (or failed to be), for the page. */
  onReady?(host: VitessceHost | null, error?: Error): void;
}

const setterName = (key: string) => `set${key[0].toUpperCase()}${key.slice(1)}`;

export function transferLabelsViewType(context: ViewContext): PluginViewType {
  function TransferLabelsView(props: ViewProps) {
    const scopes = useCoordinationScopes(props.coordinationScopes);
    const [values, setters] = useCoordination(COORDINATION_TYPES, scopes);
    // The latest values and setters, plus what was set since the last render (Vitessce's store
    // updates at once, but the values reach this component only with the next render).
    const latest = useRef({ values, setters });
    const pending = useRef<Partial<Coordination>>({});
    latest.current = { values, setters };
    pending.current = {};
    const element = useRef<HTMLDivElement>(null);
    const host = useRef<VitessceHost | null>(null);
    const [status, setStatus] = useState('');

    useEffect(() => {
      const bridge: CoordinationBridge = {
        get: () => {
          const v = latest.current.values;
          const current = Object.fromEntries(KEYS.map((k) => [k, v[k] ?? null]));
          return { ...current, ...pending.current } as Coordination;
        },
        set: (next) => {
          Object.assign(pending.current, next);
          for (const [key, value] of Object.entries(next)) {
            latest.current.setters[setterName(key)]?.(value);
          }
        },
      };
      let cancelled = false;
      VitessceHost.create({
        bridge,
        reader: context.reader,
        dataset: context.dataset,
        config: context.config,
        summary: context.summary,
        setColumns: context.setColumns,
        fileSets: context.fileSets,
        labelColors: context.labelColors,
        panelElement: element.current!,
        status: setStatus,
      })
        .then((created) => {
          if (cancelled) return created.dispose();
          host.current = created;
          created.registerPanel(context.panel);
          context.onReady?.(created);
        })
        .catch((err: unknown) => {
          const error = err instanceof Error ? err : new Error(String(err));
          setStatus(`the panel could not start: ${error.message}`);
          context.onReady?.(null, error);
        });
      return () => {
        cancelled = true;
        host.current?.dispose();
        host.current = null;
      };
    }, []);

    useEffect(() => {
      host.current?.coordinationChanged();
    }, [values.obsSetSelection, values.additionalObsSets]);

    return (
      <div className="scnym-view" data-view={VIEW_TYPE}>
        <div className="scnym-title">{props.title ?? 'Transfer labels (scNym)'}</div>
        <div className="scnym-panel panel" ref={element} />
        <div className="scnym-status" id="scnym-status">
          {status}
        </div>
      </div>
    );
  }
  return new PluginViewType(VIEW_TYPE, TransferLabelsView, COORDINATION_TYPES);
}
