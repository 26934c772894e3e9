// Portal routes stay out of the public API's OpenAPI document.
export const hidden = { hide: true } as const;
