// Empty stand-in for @vitessce/all: nothing imports it at run time (see package.json).
export {};
