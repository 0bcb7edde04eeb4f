export const message = 'Hello from skiff!';
