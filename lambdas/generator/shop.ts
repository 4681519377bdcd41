/** The simulated shop's data tables: categories (price ranges, search terms), markets (currency, rate, offset), devices, browsers, traffic sources, segment funnels. */
import type { UserSegment } from '../shared/events';

export interface Category {
  name: string;
  prefix: string;
  minPrice: number;
  maxPrice: number;
  queries: readonly string[];
}

export const CATEGORIES: readonly Category[] = [
  { name: 'electronics', prefix: 'ELEC', minPrice: 19, maxPrice: 2_499, queries: ['wireless headphones', 'usb-c charger', '4k monitor', 'smart watch'] },
  { name: 'books', prefix: 'BOOK', minPrice: 5, maxPrice: 60, queries: ['science fiction', 'cookbook', 'bestsellers 2026', 'history of rome'] },
  { name: 'clothing', prefix: 'CLTH', minPrice: 9, maxPrice: 300, queries: ['winter jacket', 'running shorts', 'linen shirt', 'wool socks'] },
  { name: 'home', prefix: 'HOME', minPrice: 8, maxPrice: 900, queries: ['desk lamp', 'throw pillow', 'storage boxes', 'bed sheets'] },
  { name: 'garden', prefix: 'GRDN', minPrice: 4, maxPrice: 700, queries: ['garden hose', 'tomato seeds', 'lawn mower', 'plant pots'] },
  { name: 'toys', prefix: 'TOYS', minPrice: 6, maxPrice: 250, queries: ['building blocks', 'board games', 'puzzle 1000', 'plush bear'] },
  { name: 'sports', prefix: 'SPRT', minPrice: 10, maxPrice: 1_500, queries: ['yoga mat', 'road bike', 'dumbbells', 'tennis racket'] },
  { name: 'beauty', prefix: 'BEAU', minPrice: 4, maxPrice: 180, queries: ['sunscreen', 'face serum', 'shampoo', 'lip balm'] },
  { name: 'grocery', prefix: 'GROC', minPrice: 1, maxPrice: 60, queries: ['coffee beans', 'olive oil', 'green tea', 'dark chocolate'] },
  { name: 'automotive', prefix: 'AUTO', minPrice: 7, maxPrice: 1_200, queries: ['car phone mount', 'wiper blades', 'dash cam', 'tire inflator'] },
  { name: 'pet_supplies', prefix: 'PETS', minPrice: 3, maxPrice: 400, queries: ['dog food', 'cat tree', 'fish tank', 'leash'] },
  { name: 'office', prefix: 'OFFC', minPrice: 2, maxPrice: 800, queries: ['ergonomic chair', 'notebooks', 'gel pens', 'label printer'] },
];

export interface Market {
  country: string;
  cities: readonly string[];
  currency: string;
  /** Units of the local currency per USD, and its decimals. */
  rate: number;
  decimals: number;
  /** Hours from UTC, for event times written with an offset. */
  utcOffset: number;
  weight: number;
}

export const MARKETS: readonly Market[] = [
  { country: 'US', cities: ['New York', 'Chicago', 'Austin', 'San Francisco', 'Seattle'], currency: 'USD', rate: 1, decimals: 2, utcOffset: -5, weight: 35 },
  { country: 'DE', cities: ['Berlin', 'Munich', 'Hamburg', 'Cologne'], currency: 'EUR', rate: 0.92, decimals: 2, utcOffset: 1, weight: 12 },
  { country: 'GB', cities: ['London', 'Manchester', 'Leeds'], currency: 'GBP', rate: 0.79, decimals: 2, utcOffset: 0, weight: 10 },
  { country: 'FR', cities: ['Paris', 'Lyon', 'Marseille'], currency: 'EUR', rate: 0.92, decimals: 2, utcOffset: 1, weight: 8 },
  { country: 'ES', cities: ['Madrid', 'Barcelona', 'Valencia'], currency: 'EUR', rate: 0.92, decimals: 2, utcOffset: 1, weight: 5 },
  { country: 'CA', cities: ['Toronto', 'Vancouver', 'Montreal'], currency: 'CAD', rate: 1.36, decimals: 2, utcOffset: -5, weight: 7 },
  { country: 'JP', cities: ['Tokyo', 'Osaka', 'Fukuoka'], currency: 'JPY', rate: 150, decimals: 0, utcOffset: 9, weight: 7 },
  { country: 'IN', cities: ['Bengaluru', 'Mumbai', 'Delhi'], currency: 'INR', rate: 83, decimals: 0, utcOffset: 5.5, weight: 6 },
  { country: 'BR', cities: ['São Paulo', 'Rio de Janeiro'], currency: 'BRL', rate: 5, decimals: 2, utcOffset: -3, weight: 5 },
  { country: 'AU', cities: ['Sydney', 'Melbourne', 'Brisbane'], currency: 'AUD', rate: 1.52, decimals: 2, utcOffset: 10, weight: 5 },
];

export const DEVICES = [['mobile', 55], ['desktop', 35], ['tablet', 10]] as const;
export const BROWSERS = [['chrome', 50], ['safari', 28], ['firefox', 8], ['edge', 8], ['samsung_internet', 6]] as const;
export const TRAFFIC_SOURCES: ReadonlyArray<readonly [{ referrer?: string; campaign_id?: string }, number]> = [
  [{}, 30],
  [{ referrer: 'https://www.google.com/' }, 30],
  [{ referrer: 'https://www.bing.com/' }, 4],
  [{ referrer: 'https://www.facebook.com/', campaign_id: 'social-autumn-2026' }, 8],
  [{ referrer: 'https://www.instagram.com/', campaign_id: 'influencer-q4' }, 6],
  [{ referrer: 'https://t.co/' }, 3],
  [{ referrer: 'https://news.example.com/deals?utm_source=newsletter&utm_medium=email', campaign_id: 'newsletter-weekly' }, 9],
  [{ referrer: 'https://ads.example.net/click?id=8812', campaign_id: 'retargeting-cart' }, 10],
];

/** How far a segment gets down the funnel: P(cart | browsed) and P(purchase | cart). */
export const SEGMENT_FUNNEL: Record<UserSegment, { weight: number; cart: number; purchase: number; search: number }> = {
  new: { weight: 25, cart: 0.22, purchase: 0.25, search: 0.55 },
  returning: { weight: 35, cart: 0.4, purchase: 0.45, search: 0.6 },
  premium: { weight: 12, cart: 0.55, purchase: 0.7, search: 0.5 },
  inactive: { weight: 13, cart: 0.12, purchase: 0.2, search: 0.4 },
  at_risk: { weight: 15, cart: 0.2, purchase: 0.3, search: 0.45 },
};
