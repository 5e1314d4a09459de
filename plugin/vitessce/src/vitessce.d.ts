/**
 * The little of `vitessce` (4.0.8; its package ships a bundle without type declarations) that the
 * adapter uses.
 */
declare module 'vitessce' {
  import type { ComponentType } from 'react';

  export type CoordinationScopes = Record<string, string | string[]>;

  /** The props Vitessce gives every view in its grid. */
  export interface ViewProps {
    uuid?: string;
    coordinationScopes: CoordinationScopes;
    theme: 'light' | 'dark' | 'light2';
    title?: string;
    removeGridComponent?: (() => void) | null;
  }

  export class PluginViewType {
    constructor(name: string, component: ComponentType<ViewProps>, coordinationTypes: string[]);
    name: string;
  }

  export class PluginAsyncFunction {
    constructor(functionType: string, asyncFunction: (...args: never[]) => Promise<unknown>);
  }

  export interface VitessceProps {
    config: Record<string, unknown>;
    theme?: 'light' | 'dark' | 'light2';
    height?: number;
    pluginViewTypes?: PluginViewType[];
    pluginAsyncFunctions?: PluginAsyncFunction[];
    onWarn?: (message: string) => void;
    validateOnConfigChange?: boolean;
  }
  export const Vitessce: ComponentType<VitessceProps>;

  /**
   * Values and setters of coordination types in a view's scopes: `[{obsSetSelection, …},
   * {setObsSetSelection, …}]`.
   */
  export function useCoordination(
    types: string[],
    scopes: CoordinationScopes,
  ): [Record<string, unknown>, Record<string, (value: unknown) => void>];
  export function useCoordinationScopes(scopes: CoordinationScopes): CoordinationScopes;
}
